import FoundationEssentials
import HANetCore
import Glibc

/// What HANet's routed mode shows: its own intent and the engine's protocols.
public struct RoutingStatus: Equatable, Sendable {
    /// This server's addresses and whether they are announced.
    public var own: [IPv4Address]
    public var ownAnnounced: Bool
    /// Siblings whose addresses this server announces as less preferred, and
    /// whether each is carried now.
    public var carried: [BIRDFragment.Carried]
    /// Every protocol BIRD runs (HANet's and the operator's: BGP sessions, BFD).
    public var protocols: [BIRDProtocol]
}

/// What the daemon calls in the routed mode. Each call leaves the engine as
/// asked or, when it throws, as it was.
public protocol RoutingEngine: AnyObject, Sendable {
    /// Writes the whole intent (own addresses announced or not, every carried
    /// sibling) and has the engine load it: at start, and again after a
    /// failure left the engine's state unknown.
    func load(ownAnnounced: Bool) throws(BIRDControlError)
    /// Announces this server's service addresses (host routes); a change of
    /// the set reloads the engine's configuration.
    func announce(_ own: [IPv4Address]) throws(BIRDControlError)
    /// Withdraws them (all public links down, or the server is leaving).
    func withdraw() throws(BIRDControlError)
    func status() throws(BIRDControlError) -> RoutingStatus
}

/// `RoutingEngine` on BIRD 2. HANet owns one file, the fragment
/// (BIRDFragment), which the operator's bird.conf includes.
///
/// - Announce/withdraw and carry/release of a sibling already in the
///   fragment: the file is rewritten with the new `disabled` state and the
///   protocol is enabled or disabled on the control socket (measured 0.1 ms
///   from the command to the router's FIB, docs/routing.md).
/// - A new set of addresses or a new sibling: the file is rewritten, then
///   `configure check`, `configure timeout N`, HANet's protocols checked in
///   `show protocols`, `configure confirm`. On any failure the previous file
///   is put back (and `configure undo` sent once BIRD has loaded the new
///   one), so nothing is left half-applied.
public final class BIRDRouting: RoutingEngine, @unchecked Sendable {
    public let includeFile: String
    public let controlSocket: String
    public let configureTimeoutSeconds: Int
    private let timeoutMillis: Int
    private let lock = Lock()
    private var fragment: BIRDFragment
    private var control: BIRDControl?

    /// Nothing is written or sent until `load` (or a call that changes the intent).
    public init(fragment: BIRDFragment, includeFile: String, controlSocket: String,
                configureTimeoutSeconds: Int = 30, timeoutMillis: Int = 5000) {
        self.fragment = fragment
        self.includeFile = includeFile
        self.controlSocket = controlSocket
        self.configureTimeoutSeconds = configureTimeoutSeconds
        self.timeoutMillis = timeoutMillis
    }

    /// Writes `fragment` and has BIRD load it. Throws when BIRD does not
    /// answer or refuses it; the previous file is then back in place.
    public convenience init(loading fragment: BIRDFragment, includeFile: String, controlSocket: String,
                            configureTimeoutSeconds: Int = 30, timeoutMillis: Int = 5000) throws(BIRDControlError) {
        self.init(fragment: fragment, includeFile: includeFile, controlSocket: controlSocket,
                  configureTimeoutSeconds: configureTimeoutSeconds, timeoutMillis: timeoutMillis)
        try load(ownAnnounced: fragment.ownAnnounced)
    }

    /// The engine for a configuration's `[routing]`; nil without one.
    public convenience init?(config: HANetConfig, timeoutMillis: Int = 2000) {
        guard let r = config.routing, let f = BIRDFragment(config: config) else { return nil }
        self.init(fragment: f, includeFile: r.includeFile, controlSocket: r.controlSocket,
                  configureTimeoutSeconds: r.configureTimeoutSeconds, timeoutMillis: timeoutMillis)
    }

    public func load(ownAnnounced: Bool) throws(BIRDControlError) {
        lock.lock(); defer { lock.unlock() }
        var next = fragment
        next.ownAnnounced = ownAnnounced
        try reload(next)
    }

    public func announce(_ own: [IPv4Address]) throws(BIRDControlError) {
        lock.lock(); defer { lock.unlock() }
        var next = fragment
        next.ownAnnounced = true
        if own == fragment.own {
            try toggle(next, BIRDFragment.ownProtocol, on: true)
        } else {
            next.own = own
            try reload(next)
        }
    }

    public func withdraw() throws(BIRDControlError) {
        lock.lock(); defer { lock.unlock() }
        var next = fragment
        next.ownAnnounced = false
        try toggle(next, BIRDFragment.ownProtocol, on: false)
    }

    /// Announces a sibling's addresses as less preferred, next hop its end of
    /// the private link; valid only while BFD answers over that link. (The
    /// daemon carries its configured siblings from the first load on.)
    public func carry(sibling: String, via: IPv4Address, addresses: [IPv4Address]) throws(BIRDControlError) {
        lock.lock(); defer { lock.unlock() }
        var next = fragment
        let c = BIRDFragment.Carried(sibling: sibling, nextHop: via, addresses: addresses, enabled: true)
        if let i = next.carried.firstIndex(where: { $0.sibling == sibling }) {
            let same = next.carried[i].nextHop == via && next.carried[i].addresses == addresses
            next.carried[i] = c
            if same { return try toggle(next, BIRDFragment.carryProtocol(sibling), on: true) }
        } else {
            next.carried.append(c)
        }
        try reload(next)
    }

    /// Stops announcing a sibling's addresses.
    public func release(sibling: String) throws(BIRDControlError) {
        lock.lock(); defer { lock.unlock() }
        guard let i = fragment.carried.firstIndex(where: { $0.sibling == sibling }) else { return }
        var next = fragment
        next.carried[i].enabled = false
        try toggle(next, BIRDFragment.carryProtocol(sibling), on: false)
    }

    public func status() throws(BIRDControlError) -> RoutingStatus {
        lock.lock(); defer { lock.unlock() }
        let protocols = try withControl { c throws(BIRDControlError) in try c.protocols() }
        return RoutingStatus(own: fragment.own, ownAnnounced: fragment.ownAnnounced, carried: fragment.carried,
                             protocols: protocols)
    }

    /// The fast path: the file keeps the intent for the next `configure`
    /// (the operator's or HANet's), the control socket applies it now.
    private func toggle(_ next: BIRDFragment, _ proto: String, on: Bool) throws(BIRDControlError) {
        let previous = try write(next.render())
        do throws(BIRDControlError) {
            try withControl { c throws(BIRDControlError) in try c.setEnabled(proto, on) }
        } catch {
            restore(previous)
            throw error
        }
        fragment = next
    }

    private func reload(_ next: BIRDFragment) throws(BIRDControlError) {
        let previous = try write(next.render())
        var loaded = false
        do throws(BIRDControlError) {
            try withControl { c throws(BIRDControlError) in
                try c.configureCheck()
                try c.configure(timeoutSeconds: configureTimeoutSeconds)
                loaded = true
                let names = Set(try c.protocols("hanet_*").map(\.name))
                let wanted = [BIRDFragment.ownProtocol] + next.carried.map { BIRDFragment.carryProtocol($0.sibling) }
                if let missing = wanted.first(where: { !names.contains($0) }) {
                    throw BIRDControlError.reply(command: "show protocols", code: 8003,
                                                 message: "\(missing) is not running after configure: does bird.conf include \(includeFile)?")
                }
                try c.configureConfirm()
            }
        } catch {
            restore(previous)
            if loaded { try? withControl { c throws(BIRDControlError) in try c.configureUndo() } }
            throw error
        }
        fragment = next
    }

    /// One connection, made again after BIRD restarted or closed it.
    private func withControl<T>(_ body: (BIRDControl) throws(BIRDControlError) -> T) throws(BIRDControlError) -> T {
        let c: BIRDControl
        if let existing = control { c = existing } else {
            c = try BIRDControl(path: controlSocket, timeoutMillis: timeoutMillis)
            control = c
        }
        do {
            return try body(c)
        } catch {
            switch error {
            case .reply: break
            default: control = nil   // a broken connection is not reused
            }
            throw error
        }
    }

    /// Replaces the include file atomically; returns what it held (nil: no file).
    private func write(_ text: String) throws(BIRDControlError) -> String? {
        let previous = try? String(contentsOfFile: includeFile, encoding: .utf8)
        let tmp = includeFile + ".hanet-new"
        do {
            try Data(text.utf8).write(to: URL(fileURLWithPath: tmp))
        } catch {
            throw .io(errno: (error as? CocoaError).flatMap { ($0.underlying as? POSIXError)?.code.rawValue } ?? EIO)
        }
        guard rename(tmp, includeFile) == 0 else {
            let e = errno
            unlink(tmp)
            throw .io(errno: e)
        }
        return previous
    }

    private func restore(_ previous: String?) {
        if let previous { _ = try? write(previous) } else { unlink(includeFile) }
    }
}
