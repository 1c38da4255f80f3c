import CHANetShim
import Glibc

/// Child processes the daemon starts (hooks): posix_spawn and a wait with a
/// timeout, what Foundation's `Process` did for us before the daemon dropped
/// libFoundation.so.
public enum ChildProcess {
    /// How a run ended.
    public enum Outcome: Equatable, Sendable {
        /// Exited with this status.
        case exited(Int32)
        /// Ended by this signal (reported like Process.terminationStatus: the signal number).
        case signalled(Int32)
        /// Outlived its timeout and was killed (SIGTERM, then SIGKILL after the grace period).
        case timedOut
        /// Could not be started, or was reaped elsewhere: the call and its errno.
        case failed(SystemCallError)
    }

    /// Runs `path` with `arguments` and exactly `environment`; standard input and
    /// output on /dev/null, standard error shared with the daemon, no other
    /// descriptor of the daemon's, signal
    /// dispositions and mask reset to the defaults (the daemon ignores SIGTERM and
    /// SIGHUP itself: a child must not inherit that). Blocks until the child ends,
    /// or `timeoutMillis` passes: then SIGTERM, and SIGKILL if it is still there
    /// `graceMillis` later. The child is always reaped.
    public static func run(_ path: String, arguments: [String], environment: [String: String],
                           timeoutMillis: Int, graceMillis: Int = 500) -> Outcome {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        // Nothing else of the daemon's: its sockets (control, PTA, metrics,
        // libpcap's) are not all close-on-exec, and a hook must not hold them.
        hanet_shim_spawn_closefrom(&actions, 3)

        var attr = posix_spawnattr_t()
        posix_spawnattr_init(&attr)
        defer { posix_spawnattr_destroy(&attr) }
        var all = sigset_t(), none = sigset_t()
        sigfillset(&all)
        sigemptyset(&none)
        posix_spawnattr_setsigdefault(&attr, &all)
        posix_spawnattr_setsigmask(&attr, &none)
        posix_spawnattr_setflags(&attr, Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))

        let argv = ([path] + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for p in argv { free(p) }
            for p in envp { free(p) }
        }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, path, &actions, &attr, argv, envp)
        guard rc == 0 else { return .failed(SystemCallError("posix_spawn", code: rc)) }

        if waitForExit(pid, millis: timeoutMillis) == nil {
            _ = kill(pid, SIGTERM)
            if waitForExit(pid, millis: graceMillis) == nil { _ = kill(pid, SIGKILL) }
            _ = reap(pid)
            return .timedOut
        }
        return outcome(reap(pid))
    }

    /// Waits up to `millis` (-1: forever) for `pid` to exit, without reaping it;
    /// nil on timeout. Polls a pidfd; kernels without pidfd_open (before 5.3)
    /// fall back to checking every 10 ms.
    private static func waitForExit(_ pid: pid_t, millis: Int) -> Void? {
        let fd = hanet_shim_pidfd_open(pid)
        if fd >= 0 {
            defer { close(fd) }
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let deadline = hanet_shim_monotonic_nanos() + UInt64(max(0, millis)) * 1_000_000
            while true {
                var wait = Int32(-1)
                if millis >= 0 {
                    let now = hanet_shim_monotonic_nanos()
                    wait = now >= deadline ? 0 : Int32(min(UInt64(Int32.max), (deadline - now + 999_999) / 1_000_000))
                }
                // EINTR: the loop computes the time left and polls again.
                let r = poll(&p, 1, wait)
                if r > 0 { return () }
                if r == 0 { return nil }
                if Glibc.errno != EINTR { break }
            }
        }
        var info = siginfo_t()
        var waited = 0
        while true {
            info.si_signo = 0
            let r = waitid(P_PID, id_t(pid), &info, WEXITED | WNOHANG | WNOWAIT)
            if r == 0 && info.si_signo != 0 { return () }
            if r != 0 && errno != EINTR { return () }   // gone (ECHILD): nothing to wait for
            if millis >= 0 && waited >= millis { return nil }
            usleep(10_000)
            waited += 10
        }
    }

    /// waitpid, retried on EINTR: the raw status, or why there is none (ECHILD: reaped elsewhere).
    private static func reap(_ pid: pid_t) -> Result<Int32, SystemCallError> {
        var status: Int32 = 0
        return Result { () throws(SystemCallError) in
            _ = try retryingInterrupts("waitpid") { waitpid(pid, &status, 0) }
            return status
        }
    }

    private static func outcome(_ reaped: Result<Int32, SystemCallError>) -> Outcome {
        let status: Int32
        switch reaped {
        case .success(let s): status = s
        case .failure(let e): return .failed(e)
        }
        let signal = status & 0x7f
        return signal == 0 ? .exited((status >> 8) & 0xff) : .signalled(signal)
    }
}
