import Dispatch
import FoundationEssentials
import HANetSystem

/// Calls `poll()` of every interval-driven detector instance from one thread.
///
/// Deadlines sit on a grid of each instance's interval (multiples of the
/// interval since the scheduler started), so instances with the same
/// interval are polled in the same wake-up: four slaves probed every 20 ms
/// cost 50 wake-ups a second, not 200 timer callbacks on a thread pool.
/// Measured with tools/bench_detectors.py (see the README).
final class DetectorScheduler {
    private struct Entry {
        let instance: DetectorInstance
        let intervalNanos: UInt64
        var due: UInt64
    }

    private let condition = Condition()
    private var entries: [Entry] = []
    private var stopped = false
    private var thread: SystemThread?
    private let start = DispatchTime.now().uptimeNanoseconds

    private func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds - start }

    func add(_ instance: DetectorInstance) {
        guard instance.intervalMillis > 0 else { return }
        let interval = UInt64(instance.intervalMillis) * 1_000_000
        condition.lock()
        let t = now()
        entries.append(Entry(instance: instance, intervalNanos: interval, due: (t / interval + 1) * interval))
        if thread == nil {
            thread = SystemThread.start(name: "hanet-detectors") { [weak self] in self?.run() }
        }
        condition.signal()
        condition.unlock()
    }

    /// Forgets destroyed instances.
    func prune() {
        condition.lock()
        entries.removeAll { $0.instance.isDestroyed }
        condition.unlock()
    }

    func stop() {
        condition.lock()
        stopped = true
        entries.removeAll()
        condition.signal()
        condition.unlock()
    }

    private func run() {
        condition.lock()
        while !stopped {
            guard let next = entries.min(by: { $0.due < $1.due })?.due else {
                condition.wait()
                continue
            }
            let t = now()
            if next > t {
                condition.wait(untilNanos: Condition.nowNanos() + (next - t))
                continue
            }
            var due: [DetectorInstance] = []
            for i in entries.indices where entries[i].due <= t {
                due.append(entries[i].instance)
                // Stay on the grid; skip missed slots instead of bursting to catch up.
                entries[i].due = (t / entries[i].intervalNanos + 1) * entries[i].intervalNanos
            }
            condition.unlock()
            for d in due { d.poll() }
            condition.lock()
        }
        condition.unlock()
    }
}
