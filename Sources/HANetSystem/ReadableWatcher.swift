import Dispatch
import FoundationEssentials
import Glibc
import HANetCore

/// A dedicated thread that waits for a descriptor to become readable and
/// calls back each time, until `stop()`. The kernel monitors (netlink link
/// notifications, udev) share it: one poll on the descriptor and on a wake
/// pipe, so `stop()` returns promptly and no callback runs after it returns
/// (unless `stop()` is called from the callback itself, which returns at once).
final class ReadableWatcher {
    private let fd: Int32
    private let name: String
    private let wakeRead: Int32
    private let wakeWrite: Int32
    private let lock = Lock()
    private var thread: SystemThread?
    private var finished: DispatchSemaphore?

    /// `what` names the owner in errors ("link monitor").
    init(fd: Int32, name: String, what: String) throws {
        var pipeFDs: [Int32] = [0, 0]
        guard pipe(&pipeFDs) == 0 else { throw HANetError(.kernel, what, SystemCallError.current("pipe")) }
        for p in pipeFDs {
            _ = fcntl(p, F_SETFD, FD_CLOEXEC)
            _ = fcntl(p, F_SETFL, O_NONBLOCK)
        }
        self.fd = fd
        self.name = name
        wakeRead = pipeFDs[0]
        wakeWrite = pipeFDs[1]
    }

    deinit {
        stop()
        close(wakeRead)
        close(wakeWrite)
    }

    /// Starts the thread; a second call while running does nothing.
    func start(onReadable: @escaping () -> Void) {
        lock.lock(); defer { lock.unlock() }
        guard thread == nil else { return }
        var drain = [UInt8](repeating: 0, count: 64)
        while Glibc.read(wakeRead, &drain, drain.count) > 0 {}
        let done = DispatchSemaphore(value: 0)
        let (fd, wake) = (self.fd, wakeRead)
        thread = SystemThread.start(name: name) {
            Self.loop(fd: fd, wake: wake, onReadable: onReadable)
            done.signal()
        }
        finished = done
    }

    func stop() {
        lock.lock()
        guard let t = thread, let done = finished else { lock.unlock(); return }
        thread = nil
        finished = nil
        lock.unlock()
        var one: UInt8 = 1
        _ = Glibc.write(wakeWrite, &one, 1)
        if !t.isCurrent { done.wait() }
    }

    private static func loop(fd: Int32, wake: Int32, onReadable: () -> Void) {
        var fds = [pollfd(fd: fd, events: Int16(POLLIN), revents: 0),
                   pollfd(fd: wake, events: Int16(POLLIN), revents: 0)]
        while true {
            fds[0].revents = 0
            fds[1].revents = 0
            guard (try? retryingInterrupts("poll", { poll(&fds, 2, -1) })) != nil else { return }
            if fds[1].revents != 0 { return }
            if fds[0].revents != 0 { onReadable() }
        }
    }
}
