import HANetCore
import HANetSystem

/// What enters the daemon's executor from other threads, typed, each with
/// the monotonic time of its cause (a switch is measured from the cause,
/// not from when the executor got to it). `Daemon.submit` takes them from
/// any thread; `Daemon.handle` dispatches them, on the executor, to the part
/// that owns what they change. Control requests and reloads, which need an
/// answer, run on the executor through `ControlExecutor.sync`; timers are
/// armed with `ControlExecutor.schedule`.
enum DaemonInput {
    /// A detector's raw verdict about a slave. `at`: the kernel timestamp of
    /// the link event it answers, else when the plugin reported.
    struct Verdict {
        var slave: String
        var detector: String
        var health: Health
        var reason: String
        var at: UInt64
    }

    /// A kernel link notification (the netlink monitor's thread).
    case link(KernelLinkEvent)
    /// The netlink socket overflowed at this time: link states must be read again.
    case linkNotificationsLost(at: UInt64)
    /// A detector's verdict (the reporting plugin's thread).
    case verdict(Verdict)
    /// Authentic PTA messages wait in the agent's inbox (the PTA socket's thread).
    case ptaInbox
    /// A udev event (the udev monitor's thread).
    case udev(UdevEvent)
}
