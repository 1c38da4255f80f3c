import CHANetPlugin
import Dispatch
import FoundationEssentials
import HANetCore
import HANetSystem

/// One thing `hanet plugins try` shows: a verdict, a slow poll, what a link
/// type says about the interface, or the closing summary. Encoded as one
/// JSON line with `--json`; `text` is the human line.
public struct TrialEvent: Codable, Equatable, Sendable {
    public enum Kind: String, Codable, Sendable { case verdict, slowPoll = "slow-poll", probe, describe, summary }
    public var event: Kind
    /// Milliseconds since the instance was created.
    public var elapsedMillis: Double
    public var type: String
    public var slave: String
    public var health: Health?
    public var reason: String?
    public var counters: TrialCounters?
    /// slow-poll: how long the poll took; summary: the longest poll.
    public var pollMillis: Double?
    public var budgetMillis: Double?
    /// probe: the link type's score for the interface (0 = not claimed).
    public var score: Int32?
    public var attributes: LinkAttributes?
    /// summary: the instance's poll measurements.
    public var polls: UInt64?
    public var slowPolls: UInt64?
    public var meanPollMicros: Double?

    public init(event: Kind, elapsedMillis: Double, type: String, slave: String) {
        self.event = event
        self.elapsedMillis = elapsedMillis
        self.type = type
        self.slave = slave
    }

    /// `value` with `places` decimals (FoundationEssentials has no String(format:)).
    static func fixed(_ value: Double, _ places: Int) -> String {
        var scale = 1.0
        for _ in 0..<places { scale *= 10 }
        let n = Int64((abs(value) * scale).rounded())
        let whole = String(n / Int64(scale)), frac = String(n % Int64(scale))
        let sign = value < 0 && n != 0 ? "-" : ""
        return places == 0 ? sign + whole : sign + whole + "." + String(repeating: "0", count: places - frac.count) + frac
    }

    public var text: String {
        let t = (Self.fixed(elapsedMillis / 1000, 3) + "s").leftPadded(to: 9)
        switch event {
        case .verdict:
            var line = "\(t)  \(type) on \(slave): \(health?.rawValue ?? "?")  \(reason ?? "")"
            if let c = counters {
                line += "  [probes \(c.probesSent), replies \(c.replies)"
                line += c.lastReplyAgeMillis.map { ", last reply \(Self.fixed($0, 0)) ms ago]" } ?? ", no reply yet]"
            }
            return line
        case .slowPoll:
            return "\(t)  \(type) on \(slave): SLOW POLL  \(Self.fixed(pollMillis ?? 0, 1)) ms, over the budget of \(Self.fixed(budgetMillis ?? 0, 0)) ms"
        case .probe:
            return "probe      \(type) on \(slave): score \(score ?? 0)\((score ?? 0) > 0 ? "" : " (not claimed)")"
        case .describe:
            guard let a = attributes else { return "describe   \(type) on \(slave): refused: \(reason ?? "")" }
            var flags: [String] = []
            if a.pointToPoint { flags.append("point-to-point") }
            if a.noARP { flags.append("noarp") }
            if a.frameIO { flags.append("frame-io") }
            return "describe   \(type) on \(slave): layer \(a.layer.rawValue), role \(a.defaultRole.rawValue), arphrd \(a.arphrd), "
                + "header \(a.headerLength) B, address \(a.addressLength) B, mtu \(a.mtu == 0 ? "netdev's" : String(a.mtu)), "
                + "speed \(a.speedBitsPerSecond == 0 ? "unknown" : "\(a.speedBitsPerSecond) bit/s"), flags \(flags.isEmpty ? "-" : flags.joined(separator: ","))"
        case .summary:
            return "\(t)  \(type) on \(slave): done: \(polls ?? 0) polls, \(slowPolls ?? 0) over the \(Self.fixed(budgetMillis ?? 0, 0)) ms budget"
                + ", longest \(Self.fixed(pollMillis ?? 0, 2)) ms, mean \(Self.fixed(meanPollMicros ?? 0, 1)) µs"
        }
    }
}

/// Probe counters as `plugins try` shows them.
public struct TrialCounters: Codable, Equatable, Sendable {
    public var probesSent: UInt64
    public var replies: UInt64
    public var lastReplyAgeMillis: Double?
}

/// `hanet plugins try`: one link type or one detector instance on a real
/// interface, with no daemon and no configuration file. A detector is polled
/// by the daemon's own scheduler and hears netlink link events as it would
/// under the daemon, so what it reports here is what it reports there.
public final class PluginTrial {
    public let host: PluginHost

    public init(host: PluginHost) {
        self.host = host
    }

    /// A `--set key=value` argument as a configuration value: the value is
    /// read as a TOML value (42, true, "text", ["a", "b"]) and otherwise taken
    /// as a bare string, so `--set path=/run/flag` needs no quotes.
    public static func configValue(_ text: String) -> HANetConfig.Value {
        guard let doc = try? TOMLDocument.parse("v = \(text)\n", file: "--set"), let v = doc.root["v"]?.value,
              let value = HANetConfig.Value.pluginSetting(v) else { return .string(text) }
        return value
    }

    /// Runs the trial of `type` on the interface `slave`, handing every event
    /// to `emit` as it happens (from several threads, one call at a time).
    /// Detectors run for `seconds` (nil: until the process is stopped).
    public func run(type: String, slave: String, config: [String: HANetConfig.Value], seconds: Double?,
                    emit: @escaping (TrialEvent) -> Void) throws {
        guard let link = try Netlink().link(named: slave) else {
            throw HANetError(.notFound, "no network interface \(slave) in this namespace")
        }
        if host.linkTypeNames().contains(type) {
            return try tryLinkType(type, link: link, config: config, emit: emit)
        }
        let emitLock = Lock()
        let started = DispatchTime.now().uptimeNanoseconds
        func elapsed() -> Double { Double(DispatchTime.now().uptimeNanoseconds - started) / 1e6 }
        func send(_ e: TrialEvent) {
            emitLock.lock()
            emit(e)
            emitLock.unlock()
        }
        final class InstanceRef: @unchecked Sendable { weak var instance: DetectorInstance? }
        let ref = InstanceRef()
        let interval: Int? = config["interval_ms"].flatMap { if case .integer(let i) = $0 { return Int(i) } else { return nil } }
        let damped = DampedReports(settings: try DetectorDamper.Settings(config: config, detector: type, slave: slave)) { health, reason in
            var e = TrialEvent(event: .verdict, elapsedMillis: elapsed(), type: type, slave: slave)
            e.health = health
            e.reason = reason
            e.counters = ref.instance?.counters.map {
                TrialCounters(probesSent: $0.probesSent, replies: $0.replies,
                              lastReplyAgeMillis: $0.lastReplyAge(now: DispatchTime.now().uptimeNanoseconds).map { $0 * 1000 })
            }
            send(e)
        }
        let instance = try host.createDetector(type: type, slave: slave, ifindex: link.index,
                                               layer: link.arphrd == 1 ? .l2 : .l3, intervalMillis: interval,
                                               config: config) { health, reason in damped.offer(health, reason) }
        ref.instance = instance
        let budget = Double(PluginHost.pollBudgetNanos) / 1e6
        instance.onSlowPoll = { nanos, _ in
            var e = TrialEvent(event: .slowPoll, elapsedMillis: elapsed(), type: type, slave: slave)
            e.pollMillis = Double(nanos) / 1e6
            e.budgetMillis = budget
            send(e)
        }
        let monitor = try LinkMonitor { event in
            if event.link.index == link.index { instance.linkEvent(event) }
        }
        monitor.start()
        let scheduler = DetectorScheduler()
        scheduler.add(instance)
        let finished = DispatchSemaphore(value: 0)
        if let seconds {
            _ = finished.wait(timeout: .now() + .nanoseconds(Int(seconds * 1e9)))
        } else {
            finished.wait()
        }
        scheduler.stop()
        monitor.stop()
        let timing = instance.pollTiming
        instance.destroy()
        var summary = TrialEvent(event: .summary, elapsedMillis: elapsed(), type: type, slave: slave)
        summary.polls = timing.polls
        summary.slowPolls = timing.slowPolls
        summary.pollMillis = Double(timing.maxNanos) / 1e6
        summary.meanPollMicros = timing.polls == 0 ? 0 : Double(timing.totalNanos) / Double(timing.polls) / 1e3
        summary.budgetMillis = budget
        send(summary)
    }

    private func tryLinkType(_ type: String, link: KernelLink, config: [String: HANetConfig.Value],
                             emit: (TrialEvent) -> Void) throws {
        let device = DeviceInfo(name: link.name, subsystem: "net", ifindex: link.index, arphrd: link.arphrd,
                                driver: UdevMonitor.driverName(link.name), devpath: "/sys/class/net/\(link.name)")
        var probe = TrialEvent(event: .probe, elapsedMillis: 0, type: type, slave: link.name)
        probe.score = try host.probeScore(linkType: type, device: device)
        emit(probe)
        var describe = TrialEvent(event: .describe, elapsedMillis: 0, type: type, slave: link.name)
        do {
            describe.attributes = try host.describe(linkType: type, device: device, config: config, allowUnavailable: true)
        } catch {
            describe.reason = "\(error)"
        }
        emit(describe)
    }
}

/// The daemon's per-detector damping for a trial, which has no daemon: held
/// verdicts are passed on at their deadline from a queue of their own.
private final class DampedReports: @unchecked Sendable {
    private let queue = DispatchQueue(label: "hanet.trial.damping")
    private var damper: DetectorDamper
    private let deliver: (Health, String) -> Void

    init(settings: DetectorDamper.Settings, deliver: @escaping (Health, String) -> Void) {
        damper = DetectorDamper(settings: settings, createdAt: DispatchTime.now().uptimeNanoseconds)
        self.deliver = deliver
    }

    func offer(_ health: Health, _ reason: String) {
        queue.async { [self] in
            pass(damper.offer(health, reason, now: DispatchTime.now().uptimeNanoseconds))
        }
    }

    private func pass(_ verdict: (health: Health, reason: String)?) {
        if let verdict { deliver(verdict.health, verdict.reason) }
        guard let due = damper.deadline else { return }
        let now = DispatchTime.now().uptimeNanoseconds
        queue.asyncAfter(deadline: .now() + .nanoseconds(Int(due > now ? due - now : 0))) { [self] in
            pass(damper.tick(now: DispatchTime.now().uptimeNanoseconds))
        }
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: " ", count: width - count) + self
    }
}

extension PluginHost {
    /// What link type `linkType` answers to `probe` for `device` (0: not its device).
    public func probeScore(linkType: String, device: DeviceInfo) throws -> Int32 {
        let t = try findLinkType(linkType)
        guard let probe = t.type.probe else { return 0 }
        controlLock.lock()
        defer { controlLock.unlock() }
        return CDevice.with(device) { probe(t.plugin.state, $0) }
    }
}
