import HANetCore
import HANetSystem

/// What stands between the PTA socket's thread and the executor, so
/// that faults come first. The socket's thread checks each datagram's
/// arrival interface against `PrivateLinks` and its MAC against the keys
/// before anything is queued; only authentic messages enter the inbox.
///
/// The inbox holds at most `capacity` messages and the executor drains
/// it `slice` at a time, queueing the rest behind whatever arrived meanwhile
/// (a link event, a detector's verdict). So a flood of authentic but
/// replayed datagrams delays a fault by at most one slice, and what the
/// queue cannot keep up with is dropped and counted, never buffered.
final class PTAInbox: @unchecked Sendable {
    struct Item {
        var message: PTAMessage
        var from: IPv4Address
        var receivedNanos: UInt64
    }

    enum Push { case scheduleDrain, queued, full }

    let capacity: Int
    let slice: Int
    private let lock = Lock()
    private var items: [Item] = []
    private var drainScheduled = false

    init(capacity: Int = 64, slice: Int = 8) {
        self.capacity = capacity
        self.slice = slice
    }

    /// From the socket's thread. `.scheduleDrain`: the caller queues one `take` loop.
    func push(_ item: Item) -> Push {
        lock.withLock {
            guard items.count < capacity else { return .full }
            items.append(item)
            if drainScheduled { return .queued }
            drainScheduled = true
            return .scheduleDrain
        }
    }

    /// From the executor: the next slice, and whether more wait (then
    /// the caller queues another drain; otherwise the next push schedules one).
    func take() -> (items: ArraySlice<Item>, more: Bool) {
        lock.withLock {
            let n = min(slice, items.count)
            let out = items[0..<n]
            items.removeFirst(n)
            drainScheduled = !items.isEmpty
            return (out, drainScheduled)
        }
    }
}

/// The interface indexes of the private links (configured, hot-plugged and
/// waiting for their HELLO answer): the only ones PTA datagrams may arrive
/// on. Written on the executor when slaves come, go or change index;
/// read on the socket's thread for every datagram.
final class PrivateLinks: @unchecked Sendable {
    private let lock = Lock()
    private var indexes: Set<Int32> = []

    func set(_ new: Set<Int32>) { lock.withLock { indexes = new } }

    func contains(_ index: Int32) -> Bool { lock.withLock { indexes.contains(index) } }
}
