import Foundation
import HANetCore

/// Collects a detector's verdicts (from the instance's report queue) and lets
/// a test wait for a condition with a deadline instead of sleeping.
public final class ReportRecorder: @unchecked Sendable {
    private let condition = NSCondition()
    private var items: [(health: Health, reason: String)] = []

    public init() {}

    /// Pass this as `report:` to `PluginHost.createDetector`.
    public var callback: (Health, String) -> Void {
        { [self] health, reason in
            condition.lock()
            items.append((health, reason))
            condition.broadcast()
            condition.unlock()
        }
    }

    public var reports: [(health: Health, reason: String)] {
        condition.lock()
        defer { condition.unlock() }
        return items
    }

    public var last: (health: Health, reason: String)? { reports.last }

    /// Waits until `predicate` holds for the reports so far, or `timeout` passes; returns whether it held.
    @discardableResult
    public func wait(timeout: TimeInterval = 5, until predicate: ([(health: Health, reason: String)]) -> Bool) -> Bool {
        let deadline = Date(timeIntervalSinceNow: timeout)
        condition.lock()
        defer { condition.unlock() }
        while !predicate(items) {
            if !condition.wait(until: deadline) { return predicate(items) }
        }
        return true
    }

    /// Waits for the latest verdict to be `health`.
    @discardableResult
    public func waitForLast(_ health: Health, timeout: TimeInterval = 5) -> Bool {
        wait(timeout: timeout) { $0.last?.health == health }
    }
}
