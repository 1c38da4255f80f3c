/// The sender side of the counter: monotonic nanoseconds since the daemon
/// started, forced strictly increasing even if two messages share a tick.
/// Shared by the requester and responder of one daemon.
public final class PTACounter {
    public private(set) var last: UInt64 = 0

    public init() {}

    public func next(now: UInt64) -> UInt64 {
        last = Swift.max(last &+ 1, now)
        return last
    }
}
