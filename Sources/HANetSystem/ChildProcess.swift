import Glibc

/// Signals to child processes the daemon started (hooks), beyond what
/// Foundation's `Process` offers.
public enum ChildProcess {
    /// SIGKILL: for a hook that ignored SIGTERM past its grace period.
    public static func forceKill(_ pid: Int32) {
        guard pid > 0 else { return }
        _ = kill(pid, SIGKILL)
    }
}
