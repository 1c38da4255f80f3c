/// Sysctl writes that are undone exactly: the value each path had before
/// its first change is kept, and `restore` writes those values back in the
/// reverse order of the changes. Reverse order matters for keys with side
/// effects: writing `net/ipv6/conf/all/forwarding` sets every interface's
/// `forwarding` (and `default`'s), so those are saved before it is written
/// (`alsoChanges`) and written back after it is restored.
public struct SysctlChanges: Equatable, Sendable, Codable {
    /// Path and original value, in the order first touched.
    public private(set) var saved: [Saved] = []

    public struct Saved: Equatable, Sendable, Codable {
        public var path: String
        public var value: String
    }

    public init() {}

    public var isEmpty: Bool { saved.isEmpty }

    /// One write, and the paths the kernel changes along with it.
    public struct Setting: Equatable, Sendable {
        public var path: String
        public var value: String
        public var alsoChanges: [String]
        public init(_ path: String, _ value: String, alsoChanges: [String] = []) {
            self.path = path
            self.value = value
            self.alsoChanges = alsoChanges
        }
    }

    /// Applies `settings` in order. On a failure the settings this call made
    /// are undone before the error is thrown, so nothing is half-applied.
    public mutating func apply(_ settings: [Setting], to store: SysctlStore) throws {
        let before = saved.count
        do {
            for s in settings {
                for p in s.alsoChanges + [s.path] where !saved.contains(where: { $0.path == p }) {
                    saved.append(Saved(path: p, value: try store.read(p)))
                }
                try store.write(s.path, s.value)
            }
        } catch {
            let added = Array(saved[before...])
            saved.removeSubrange(before...)
            for s in added.reversed() { try? store.write(s.path, s.value) }
            throw error
        }
    }

    /// Writes every saved value back, last changed first; the first error is
    /// thrown after all were tried. Nothing is saved afterwards.
    public mutating func restore(to store: SysctlStore) throws {
        var firstError: Error?
        for s in saved.reversed() {
            do {
                if try store.read(s.path) != s.value { try store.write(s.path, s.value) }
            } catch {
                firstError = firstError ?? error
            }
        }
        saved.removeAll()
        if let firstError { throw firstError }
    }
}

extension SysctlStore {
    /// Writes the settings in order, saving nothing (for interfaces HANet creates).
    public func write(_ settings: [SysctlChanges.Setting]) throws {
        for s in settings { try write(s.path, s.value) }
    }
}

/// What a sibling sets to carry IPv6 service addresses of a node reached
/// over `link`, for neighbours on its LAN behind `master` (the kernel facts
/// are in docs/ipv6.md):
/// - proxy NDP answers an NS only on an interface with forwarding on (or
///   `force_forwarding`, on kernels that have it) and `proxy_ndp` on, for an
///   `ip -6 neigh add proxy` entry;
/// - the kernel forwards IPv6 only with `conf/all/forwarding` on, unless it
///   has `force_forwarding` per interface;
/// - `conf/all/forwarding` turns forwarding on for every interface, and an
///   interface that forwards ignores router advertisements unless
///   `accept_ra` is 2, so the master's `accept_ra` of 1 becomes 2 first;
/// - `proxy_delay` delays proxied answers to multicast NS by up to 0.8 s, as for ARP.
public enum IPv6SiblingSysctls {
    /// `interfaces`: every name under net/ipv6/conf (with "all" and "default"),
    /// whose `forwarding` the global switch changes. `acceptRA`: the master's
    /// current `accept_ra`. `forceForwarding`: whether the kernel has
    /// net/ipv6/conf/*/force_forwarding (Linux 6.17 and later).
    public static func settings(master: String, link: String, interfaces: [String], acceptRA: String,
                                forceForwarding: Bool) -> [SysctlChanges.Setting] {
        var out: [SysctlChanges.Setting] = []
        if forceForwarding {
            out.append(.init("net/ipv6/conf/\(master)/force_forwarding", "1"))
            out.append(.init("net/ipv6/conf/\(link)/force_forwarding", "1"))
        } else {
            if acceptRA == "1" { out.append(.init("net/ipv6/conf/\(master)/accept_ra", "2")) }
            let others = interfaces.filter { $0 != "all" }.map { "net/ipv6/conf/\($0)/forwarding" }
            out.append(.init("net/ipv6/conf/all/forwarding", "1", alsoChanges: others))
        }
        for dev in [master, link] {
            out.append(.init("net/ipv6/conf/\(dev)/proxy_ndp", "1"))
            out.append(.init("net/ipv6/neigh/\(dev)/proxy_delay", "0"))
        }
        return out
    }
}
