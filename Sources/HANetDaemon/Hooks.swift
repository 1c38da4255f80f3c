import Dispatch
import FoundationEssentials
import HANetCore
import HANetSystem

/// Runs `[hooks]` scripts (keepalived's notify scripts): the event goes in
/// `HANET_*` environment variables, the script runs on a background queue,
/// and it is killed when it outlives the timeout. The control queue only
/// enqueues, so a hung script never delays a switch.
final class Hooks {
    /// One finished run, for tests and for the log.
    struct Run {
        var script: String
        var event: String
        var status: Int32?
        var timedOut: Bool
        var error: String?
    }

    private let queue = DispatchQueue(label: "hanet.hooks", attributes: .concurrent)
    private let lock = Lock()
    private var config: HANetConfig.Hooks
    private let log: DaemonLog?
    /// Runs in flight; beyond `maxInFlight` new runs are dropped (and logged)
    /// so a flapping link cannot fork-bomb the host.
    private var inFlight = 0
    let maxInFlight = 16
    var onFinish: ((Run) -> Void)?

    init(config: HANetConfig.Hooks, log: DaemonLog?) {
        self.config = config
        self.log = log
    }

    func update(_ c: HANetConfig.Hooks) {
        lock.lock(); config = c; lock.unlock()
    }

    /// The scripts an event of `kind` runs.
    static func scripts(for kind: EventKind, in c: HANetConfig.Hooks) -> [String] {
        var out: [String] = []
        if kind == .switch, let s = c.onSwitch { out.append(s) }
        if kind.rawValue.hasPrefix("pta"), let s = c.onPTA { out.append(s) }
        if let s = c.onEvent { out.append(s) }
        return out
    }

    func handle(_ e: DaemonEvent) {
        lock.lock()
        let c = config
        lock.unlock()
        for script in Self.scripts(for: e.kind, in: c) {
            lock.lock()
            if inFlight >= maxInFlight {
                lock.unlock()
                log?.warning("hook \(script) for \(e.kind.rawValue) #\(e.seq) skipped: \(maxInFlight) hooks still running")
                continue
            }
            inFlight += 1
            lock.unlock()
            queue.async { [self] in
                let r = Self.run(script, event: e, timeoutMillis: c.timeoutMillis)
                lock.lock(); inFlight -= 1; lock.unlock()
                if r.timedOut {
                    log?.warning("hook \(script) for \(e.kind.rawValue) #\(e.seq) killed after \(c.timeoutMillis) ms")
                } else if let err = r.error {
                    log?.warning("hook \(script) for \(e.kind.rawValue) #\(e.seq): \(err)")
                } else if let s = r.status, s != 0 {
                    log?.warning("hook \(script) for \(e.kind.rawValue) #\(e.seq) exited \(s)")
                }
                onFinish?(r)
            }
        }
    }

    /// Runs one script to completion or timeout (blocking; called off the control queue).
    static func run(_ script: String, event e: DaemonEvent, timeoutMillis: Int) -> Run {
        var env = ProcessInfo.processInfo.environment
        for (k, v) in e.environment { env[k] = v }
        switch ChildProcess.run(script, arguments: [e.kind.rawValue], environment: env, timeoutMillis: timeoutMillis) {
        case .exited(let status), .signalled(let status):
            return Run(script: script, event: e.kind.rawValue, status: status, timedOut: false, error: nil)
        case .timedOut:
            return Run(script: script, event: e.kind.rawValue, status: nil, timedOut: true, error: nil)
        case .failed(let why):
            return Run(script: script, event: e.kind.rawValue, status: nil, timedOut: false, error: "cannot run: \(why)")
        }
    }
}
