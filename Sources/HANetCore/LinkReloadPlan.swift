/// What a reload does to the `[[link]]`s, decided from the old and the new
/// lists alone: links that are new, links that are gone, links that must be
/// reopened because a key their link plugin opened the device with changed,
/// and links that stay (their other settings are applied in place). The
/// daemon (Daemon+Reload.swift) checks the plan against the running slaves
/// with `problems`, then applies it.
///
/// Links are the same link when their `interface` is the same: the interface
/// name is what the kernel, the data plane and the detectors know a slave by.
public struct LinkReloadPlan: Equatable, Sendable {
    /// A link in both files.
    public struct Change: Equatable, Sendable {
        public var old: HANetConfig.Link
        public var new: HANetConfig.Link
        /// For a reopened link, the keys that changed and make it one
        /// (`type`, `address`, `sibling`, `device`, `baud`, …); empty for a kept link.
        public var keys: [String]

        public var interface: String { new.interface }
    }

    /// In the new file only, in file order.
    public var added: [HANetConfig.Link]
    /// In the old file only, in file order.
    public var removed: [HANetConfig.Link]
    /// In both, with a key the link plugin opened the device with changed: closed and opened again.
    public var reopened: [Change]
    /// In both, opened as they are; priority, role, speed and detectors apply in place.
    public var kept: [Change]
    /// Each interface's position in the new file: the slave's `order`, the interface manager's last tie-break.
    public var order: [String: Int]
    /// The interfaces in both files, in the old and in the new order, when those differ.
    public var reordered: (old: [String], new: [String])? {
        let both = Set(order.keys).intersection(oldOrder)
        let o = oldOrder.filter { both.contains($0) }
        let n = newOrder.filter { both.contains($0) }
        return o == n ? nil : (o, n)
    }

    private var oldOrder: [String]
    private var newOrder: [String]

    /// Keys of `Link.options` the daemon reads itself, so a change needs no reopen.
    public static let liveOptionKeys: Set<String> = ["slow_link_policy"]

    public init(from old: [HANetConfig.Link], to new: [HANetConfig.Link]) {
        let oldByName = Dictionary(old.map { ($0.interface, $0) }, uniquingKeysWith: { a, _ in a })
        let newNames = Set(new.map(\.interface))
        added = []
        reopened = []
        kept = []
        for link in new {
            guard let before = oldByName[link.interface] else {
                added.append(link)
                continue
            }
            let keys = Self.reopenKeys(from: before, to: link)
            let change = Change(old: before, new: link, keys: keys)
            if keys.isEmpty { kept.append(change) } else { reopened.append(change) }
        }
        removed = old.filter { !newNames.contains($0.interface) }
        order = Dictionary(new.enumerated().map { ($1.interface, $0) }, uniquingKeysWith: { a, _ in a })
        oldOrder = old.map(\.interface)
        newOrder = new.map(\.interface)
    }

    /// The keys whose change makes `b` a different link from `a`: its link
    /// plugin opened the device with them (`type`, the plugin options such as
    /// `device` and `baud`), or they are set on the interface and in the PTA
    /// at open (`address`, `sibling`).
    public static func reopenKeys(from a: HANetConfig.Link, to b: HANetConfig.Link) -> [String] {
        var keys: [String] = []
        if a.type != b.type { keys.append("type") }
        if a.address != b.address { keys.append("address") }
        if a.sibling != b.sibling { keys.append("sibling") }
        for k in Set(a.options.keys).union(b.options.keys).sorted()
        where !liveOptionKeys.contains(k) && a.options[k] != b.options[k] {
            keys.append(k)
        }
        return keys
    }

    /// True when a link is added, removed or reopened.
    public var changesLinkSet: Bool {
        !added.isEmpty || !removed.isEmpty || !reopened.isEmpty
    }

    /// Why this plan cannot be applied to the slaves as they run now, or
    /// nothing. `active` is the active slave, `good` the slaves that are
    /// GOOD now, `hot` the slaves hot-plug attached and `pending` the
    /// interfaces it is attaching (neither are `[[link]]`s; a reload leaves them alone).
    public func problems(active: String?, good: Set<String>, hot: Set<String>, pending: Set<String> = []) -> [String] {
        var out: [String] = []
        for l in added where hot.contains(l.interface) || pending.contains(l.interface) {
            out.append("\(l.location): link \(l.interface): \(l.interface) is attached by hot-plug now; a [[link]] cannot take it over while it is (reload again once it is unplugged)")
        }
        if let active, let c = reopened.first(where: { $0.interface == active }) {
            out.append("\(c.new.location): link \(active): \(c.keys.joined(separator: ", ")) changed, and reopening \(active) means closing it, but it is the active slave; fail over first (`hanet failover --to OTHER`), then reload again")
        }
        if let active, let gone = removed.first(where: { $0.interface == active }) {
            // Who takes the traffic: a slave that stays as it is (new and reopened
            // ones start without a verdict) and is GOOD now.
            // kept, reopened and removed are disjoint, and hot links are never [[link]]s.
            let staying = Set(kept.map(\.interface)).union(hot)
            let heirs = staying.intersection(good)
            if staying.isEmpty {
                out.append("link \(gone.interface): it is the active slave and the last one this daemon runs (every other [[link]] is new or reopened in this file); add the new links in one reload, wait until one is GOOD (`hanet status`), then remove \(active) in the next")
            } else if heirs.isEmpty {
                out.append("link \(gone.interface): it is the active slave and no other slave that stays (\(staying.sorted().joined(separator: ", "))) is GOOD to take its traffic; removing it now would cut the service")
            }
        }
        return out
    }
}
