/// Why the daemon refused a piece of input that came from outside it: a
/// datagram on the PTA port, a HELLO answer, a control-socket client, a
/// device that was plugged in. Each reason has its own drop counter
/// (`hanet status --json` → `refused`, metric `hanet_refused_total`), and
/// the log speaks of them through `RefusalLimiter`, never once per datagram.
public enum RefusalReason: String, CaseIterable, Codable, Sendable {
    /// A PTA datagram that arrived over a public slave or the master: only private links carry the PTA.
    case ptaNotPrivateLink = "pta-not-private-link"
    /// A PTA datagram the kernel dropped on a public slave (`PTAGuard`'s
    /// nftables counter): the daemon never sees these, it reads the count.
    case ptaGuardDropped = "pta-dropped-by-guard"
    /// A PTA datagram that does not parse (magic, version, lengths, text).
    case ptaMalformed = "pta-malformed"
    /// A PTA datagram naming a sender that is not a configured sibling.
    case ptaUnknownSender = "pta-unknown-sender"
    /// A PTA datagram whose MAC does not match the sender's key.
    case ptaBadMAC = "pta-bad-mac"
    /// An authentic message from a source address that is not the sender's private-link address.
    case ptaWrongSource = "pta-wrong-source"
    /// An authentic message seen before (its counter is not above the last) or from an earlier run.
    case ptaReplay = "pta-replay"
    /// An authentic message the PTA does not act on (an ACK nobody asked for, addresses the sender does not own).
    case ptaIgnored = "pta-ignored"
    /// More datagrams waiting for the executor than the inbox holds: the excess is dropped unread.
    case ptaInboxFull = "pta-inbox-full"
    /// An answer to a hot-plug HELLO that does not match what was asked.
    case helloRefused = "hello-refused"
    /// A control-socket client that is not root.
    case controlNotRoot = "control-not-root"
    /// A control-socket request line longer than the limit.
    case controlLineTooLong = "control-line-too-long"
    /// A control-socket client over the limit of concurrent clients.
    case controlTooManyClients = "control-too-many-clients"
    /// A control-socket request that is not a request.
    case controlBadRequest = "control-bad-request"
    /// A device the hot-plug rules leave alone or cannot attach.
    case hotplugRefused = "hotplug-refused"
}

/// Decides which refusals reach the log, like the kernel's `net_ratelimit`
/// and journald's `RateLimitBurst`: in each interval, at most `burst` lines
/// per (reason, source) and `totalBurst` lines in all; the rest are counted
/// and summed up once per reason when the interval ends ("suppressed N
/// similar messages in the last 1 s"). So a flood costs at most
/// `totalBurst` plus one line per reason each interval, whatever its rate.
///
/// Memory is bounded as well: a flood from spoofed sources makes at most
/// `maxSources` keys per interval; further sources share one key.
///
/// Pure and single-threaded: the caller holds the lock and passes the time.
public struct RefusalLimiter: Sendable {
    public struct Key: Hashable, Sendable {
        public var reason: RefusalReason
        public var source: String
        public init(_ reason: RefusalReason, _ source: String) {
            self.reason = reason
            self.source = source
        }
    }

    public let burst: Int
    public let totalBurst: Int
    public let intervalNanos: UInt64
    public let maxSources: Int
    /// The source every key beyond `maxSources` is counted under.
    public static let otherSources = "other sources"

    private var windowStart: UInt64?
    private var logged: [Key: Int] = [:]
    private var loggedTotal = 0
    /// Suppressed per reason in the current interval, with the last source seen.
    private var suppressed: [RefusalReason: (count: Int, lastSource: String)] = [:]

    public init(burst: Int = 3, totalBurst: Int = 10, intervalNanos: UInt64 = 1_000_000_000, maxSources: Int = 64) {
        self.burst = burst
        self.totalBurst = totalBurst
        self.intervalNanos = intervalNanos
        self.maxSources = maxSources
    }

    /// One refusal at `now`. Returns the summary lines of an interval that
    /// has ended (print them first) and whether this refusal's own line is printed.
    public mutating func admit(_ reason: RefusalReason, source: String, now: UInt64) -> (summaries: [String], log: Bool) {
        let summaries = roll(now: now)
        var key = Key(reason, source)
        if logged[key] == nil, logged.count >= maxSources { key.source = Self.otherSources }
        let n = logged[key, default: 0]
        if n < burst, loggedTotal < totalBurst {
            logged[key] = n + 1
            loggedTotal += 1
            return (summaries, true)
        }
        if logged[key] == nil { logged[key] = n }
        suppressed[reason, default: (0, source)].count += 1
        suppressed[reason]!.lastSource = source
        return (summaries, false)
    }

    /// The summaries of an interval that has ended by `now`, for a timer:
    /// a flood that stops still gets its last summary.
    public mutating func flush(now: UInt64) -> [String] {
        roll(now: now)
    }

    /// When `flush` has something to say, if anything is suppressed now.
    public var nextFlush: UInt64? {
        guard !suppressed.isEmpty, let start = windowStart else { return nil }
        return start &+ intervalNanos
    }

    private mutating func roll(now: UInt64) -> [String] {
        guard let start = windowStart else {
            windowStart = now
            return []
        }
        guard now &- start >= intervalNanos else { return [] }
        let seconds = Double(now &- start) / 1e9
        let lines = suppressed.sorted { $0.key.rawValue < $1.key.rawValue }.map { reason, s in
            "suppressed \(s.count) similar message\(s.count == 1 ? "" : "s") (\(reason.rawValue), last from \(s.lastSource)) in the last \(UTCTimestamp.fixed(seconds, 1)) s"
        }
        windowStart = now
        logged.removeAll(keepingCapacity: true)
        loggedTotal = 0
        suppressed.removeAll(keepingCapacity: true)
        return lines
    }
}
