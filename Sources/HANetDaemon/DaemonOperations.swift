import Dispatch
import FoundationEssentials
import HANetCore
import HANetSystem

/// What operators and supervisors see of the daemon beyond its status:
/// the event ring, notify hooks, the Prometheus endpoint, and systemd's
/// readiness and watchdog. One object held by the daemon, configured at start.
final class DaemonOperations {
    private(set) var events = DaemonEvents(node: "", clock: { 0 })
    private(set) var hooks: Hooks?
    private(set) var metrics: DaemonMetrics?
    var metricsServer: MetricsHTTPServer?
    var notify = SystemdNotify(environment: [:])
    var watchdog: ScheduledWork?
    /// READY=1 is sent once, when the data plane carries traffic (or the wait for a GOOD slave gave up).
    var readySent = false

    func configure(node: String, clock: MonotonicClock, startedAt: Date, hooks config: HANetConfig.Hooks,
                   log: DaemonLog, environment: [String: String]) {
        events = DaemonEvents(node: node, capacity: 1000, clock: { clock.nowNanos() })
        let hooks = Hooks(config: config, log: log)
        let metrics = DaemonMetrics(clock: { clock.nowNanos() }, startedAt: startedAt)
        self.hooks = hooks
        self.metrics = metrics
        events.observers = [{ hooks.handle($0) }, { metrics.observe($0) }]
        notify = SystemdNotify(environment: environment)
    }
}
