/// Rejects replayed PTA messages. Apply it only to messages whose MAC was
/// verified, otherwise a forger could advance the state.
///
/// The rule, per sender:
/// - same boot id as the current one: accept only a counter greater than the
///   last accepted (counters are strictly increasing per sender and boot);
/// - a boot id seen before but no longer current: reject (an old message from
///   an earlier run of the sender);
/// - a boot id never seen: accept, it is a restarted sender; it becomes the
///   current one and the previous one joins the remembered set.
///
/// Limits, by design of a rule that needs no shared clock:
/// - only the last `rememberedBoots` boot ids are remembered, so a message
///   captured from an older run can be replayed once that run is forgotten;
/// - the guard lives in memory: after the receiver restarts, one captured
///   message of each earlier sender run can be replayed once (persisting the
///   state in `node.state_dir` would close this);
/// - a captured message of a newer boot id than the current one cannot exist
///   before the sender sends it, so the current run is fully protected.
public struct PTAReplayGuard: Sendable {
    public enum Rejection: Error, Equatable, Sendable, CustomStringConvertible {
        /// Same boot, counter not above the last accepted one.
        case staleCounter(sender: String, counter: UInt64, last: UInt64)
        /// From an earlier run of the sender.
        case oldBoot(sender: String, bootID: UInt64)

        public var description: String {
            switch self {
            case .staleCounter(let s, let c, let l): return "replayed or reordered PTA message from \(s): counter \(c) is not above \(l)"
            case .oldBoot(let s, let b): return "PTA message from an earlier run of \(s) (boot id \(String(b, radix: 16)))"
            }
        }
    }

    private struct SenderState: Sendable {
        var bootID: UInt64
        var lastCounter: UInt64
        /// Earlier boot ids, oldest first.
        var previousBoots: [UInt64]
    }

    public let rememberedBoots: Int
    private var senders: [String: SenderState] = [:]

    public init(rememberedBoots: Int = 16) {
        precondition(rememberedBoots >= 1)
        self.rememberedBoots = rememberedBoots
    }

    /// Accepts and records the message (nil), or says why it is a replay and records nothing.
    public mutating func accept(_ m: PTAMessage) -> Rejection? {
        guard var s = senders[m.sender] else {
            senders[m.sender] = SenderState(bootID: m.bootID, lastCounter: m.counter, previousBoots: [])
            return nil
        }
        if m.bootID == s.bootID {
            guard m.counter > s.lastCounter else {
                return .staleCounter(sender: m.sender, counter: m.counter, last: s.lastCounter)
            }
            s.lastCounter = m.counter
        } else {
            guard !s.previousBoots.contains(m.bootID) else { return .oldBoot(sender: m.sender, bootID: m.bootID) }
            s.previousBoots.append(s.bootID)
            if s.previousBoots.count > rememberedBoots { s.previousBoots.removeFirst(s.previousBoots.count - rememberedBoots) }
            s.bootID = m.bootID
            s.lastCounter = m.counter
        }
        senders[m.sender] = s
        return nil
    }
}
