import CHANetShim
import Glibc

// Locks, conditions and threads over pthreads. Foundation's NSLock, NSCondition
// and Thread are the same calls underneath, but they live in libFoundation.so,
// which the daemon does not map (it would cost 4.6 MB resident, plus ICU through it).

/// A mutex over pthreads: `lock()`/`unlock()` or `withLock { }`.
public final class Lock: @unchecked Sendable {
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>

    public init() {
        mutex = .allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        pthread_mutex_init(mutex, nil)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deinitialize(count: 1)
        mutex.deallocate()
    }

    public func lock() { pthread_mutex_lock(mutex) }
    public func unlock() { pthread_mutex_unlock(mutex) }

    public func withLock<T, E: Error>(_ body: () throws(E) -> T) throws(E) -> T {
        lock(); defer { unlock() }
        return try body()
    }
}

/// A mutex with a condition variable (what NSCondition was). Timed waits use
/// CLOCK_MONOTONIC, so a wall-clock step neither shortens nor stretches them.
public final class Condition: @unchecked Sendable {
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let cond: UnsafeMutablePointer<pthread_cond_t>

    public init() {
        mutex = .allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        pthread_mutex_init(mutex, nil)
        cond = .allocate(capacity: 1)
        cond.initialize(to: pthread_cond_t())
        var attr = pthread_condattr_t()
        pthread_condattr_init(&attr)
        pthread_condattr_setclock(&attr, CLOCK_MONOTONIC)
        pthread_cond_init(cond, &attr)
        pthread_condattr_destroy(&attr)
    }

    deinit {
        pthread_cond_destroy(cond)
        cond.deinitialize(count: 1)
        cond.deallocate()
        pthread_mutex_destroy(mutex)
        mutex.deinitialize(count: 1)
        mutex.deallocate()
    }

    public func lock() { pthread_mutex_lock(mutex) }
    public func unlock() { pthread_mutex_unlock(mutex) }
    public func signal() { pthread_cond_signal(cond) }
    public func broadcast() { pthread_cond_broadcast(cond) }

    /// Waits for a signal (the caller holds the lock).
    public func wait() { pthread_cond_wait(cond, mutex) }

    /// Waits for a signal until `deadline` (CLOCK_MONOTONIC nanoseconds, as
    /// `Condition.nowNanos()` reads it); false once the deadline has passed.
    @discardableResult
    public func wait(untilNanos deadline: UInt64) -> Bool {
        var ts = timespec(tv_sec: Int(deadline / 1_000_000_000), tv_nsec: Int(deadline % 1_000_000_000))
        return pthread_cond_timedwait(cond, mutex, &ts) == 0
    }

    /// Waits for a signal for at most `seconds`; false on timeout.
    @discardableResult
    public func wait(timeout seconds: Double) -> Bool {
        wait(untilNanos: Self.deadline(after: seconds))
    }

    /// CLOCK_MONOTONIC now, in nanoseconds.
    public static func nowNanos() -> UInt64 { hanet_shim_monotonic_nanos() }

    /// The deadline `seconds` from now (negative counts as 0, huge values saturate).
    public static func deadline(after seconds: Double) -> UInt64 {
        let now = nowNanos()
        guard seconds > 0 else { return now }
        let nanos = seconds * 1e9
        guard nanos < Double(UInt64.max - now) else { return UInt64.max / 2 }
        return now + UInt64(nanos)
    }
}

/// A detached thread running one closure (what `Thread { }.start()` was).
public final class SystemThread: @unchecked Sendable {
    private let idLock = Lock()
    private var id: pthread_t?

    private init() {}

    /// Starts `body` on a new thread named `name` (the kernel keeps 15 bytes of it).
    @discardableResult
    public static func start(name: String, _ body: @escaping () -> Void) -> SystemThread {
        let thread = SystemThread()
        let context = Unmanaged.passRetained(Start(thread: thread, name: name, body: body)).toOpaque()
        var tid = pthread_t()
        let rc = pthread_create(&tid, nil, { raw in
            let start = Unmanaged<Start>.fromOpaque(raw!).takeRetainedValue()
            start.thread.idLock.withLock { start.thread.id = pthread_self() }
            _ = hanet_shim_set_thread_name(start.name)
            start.body()
            return nil
        }, context)
        if rc != 0 {
            Unmanaged<Start>.fromOpaque(context).release()
            fatalError("\(SystemCallError("pthread_create", code: rc))")
        }
        pthread_detach(tid)
        return thread
    }

    /// True when called on this thread.
    public var isCurrent: Bool {
        idLock.withLock { id.map { pthread_equal($0, pthread_self()) != 0 } ?? false }
    }

    private final class Start {
        let thread: SystemThread
        let name: String
        let body: () -> Void
        init(thread: SystemThread, name: String, body: @escaping () -> Void) {
            self.thread = thread
            self.name = name
            self.body = body
        }
    }
}
