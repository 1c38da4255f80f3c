import XCTest
@testable import HANetCore

final class RefusalLimiterTests: XCTestCase {
    let second: UInt64 = 1_000_000_000

    func testAFloodFromOneSourceLogsBurstLinesThenOneSummaryPerInterval() {
        var l = RefusalLimiter(burst: 3, totalBurst: 10, intervalNanos: second)
        var printed = 0, summaries: [String] = []
        // 100,000 refusals over 5 s from one source.
        for i in 0..<100_000 {
            let (s, log) = l.admit(.ptaBadMAC, source: "198.51.100.50", now: UInt64(i) * 50_000)
            summaries += s
            if log { printed += 1 }
        }
        summaries += l.flush(now: 6 * second)
        XCTAssertEqual(printed, 3 * 5, "three lines in each of the five intervals")
        XCTAssertEqual(summaries.count, 5, "one summary per interval")
        XCTAssertTrue(summaries[0].hasPrefix("suppressed 19997 similar messages (pta-bad-mac, last from 198.51.100.50) in the last 1.0 s"), summaries[0])
    }

    func testTheTotalBurstBoundsManySourcesAndManyReasons() {
        var l = RefusalLimiter(burst: 3, totalBurst: 10, intervalNanos: second, maxSources: 64)
        var printed = 0
        for i in 0..<10_000 {
            let reason = RefusalReason.allCases[i % RefusalReason.allCases.count]
            if l.admit(reason, source: "203.0.113.\(i % 250)", now: 1).log { printed += 1 }
        }
        XCTAssertEqual(printed, 10)
        let summaries = l.flush(now: 2 * second)
        XCTAssertEqual(summaries.count, RefusalReason.allCases.count, "one summary per reason, not per source")
    }

    func testNothingSuppressedMeansNoSummaryAndNoFlushDeadline() {
        var l = RefusalLimiter(burst: 3, totalBurst: 10, intervalNanos: second)
        XCTAssertTrue(l.admit(.controlNotRoot, source: "uid 1000", now: 0).log)
        XCTAssertNil(l.nextFlush)
        XCTAssertEqual(l.flush(now: 5 * second), [])
        // A new interval: the source may log again.
        for _ in 0..<3 { XCTAssertTrue(l.admit(.controlNotRoot, source: "uid 1000", now: 5 * second).log) }
        XCTAssertFalse(l.admit(.controlNotRoot, source: "uid 1000", now: 5 * second).log)
        XCTAssertEqual(l.nextFlush, 6 * second)
    }

    func testTheGuardRulesetClosesThePTAPortOnEveryPublicSlave() {
        let text = NftablesRuleset.renderGuard(PTAGuard(table: "hanet", port: 7377, publicSlaves: ["eth0", "eth1"]))
        XCTAssertEqual(text, """
            table netdev hanet_guard
            delete table netdev hanet_guard
            table netdev hanet_guard {
            \tchain pta {
            \t\ttype filter hook ingress devices = { "eth0", "eth1" } priority -10;
            \t\tudp dport 7377 counter drop
            \t}
            }

            """)
        XCTAssertEqual(NftablesRuleset.renderGuard(PTAGuard(table: "hanet", port: 7377, publicSlaves: [])),
                       "table netdev hanet_guard\ndelete table netdev hanet_guard\n")
        XCTAssertEqual(PTAGuard.table(for: String(repeating: "t", count: 64)).count, 64)
    }
}
