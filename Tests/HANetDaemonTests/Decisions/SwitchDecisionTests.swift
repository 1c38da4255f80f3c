import Foundation
@testable import HANetCore
@testable import HANetDaemon
@testable import HANetSystem
import XCTest

/// The daemon's switching decisions on in-memory fakes (no root, no kernel):
/// the first decision, switches on verdicts, damping and failback. The
/// scenario tests run the same paths end to end on real namespaces.
final class SwitchDecisionTests: DecisionTestCase {


    /// One node with two public links and no sibling.
    func single(master: String = "", links: String = "", extra: String = "", detectors: String = #"["carrier"]"#,
                down: Set<String> = []) throws -> DecisionNode {
        let n = cluster.add("s1", config: DecisionCluster.pairConfig("s1", dir: cluster.dir, extraMaster: master, extraLinks: links,
                                                                     extra: extra, detectors: detectors, privateLink: false),
                            privateLink: false)
        try cluster.start(["s1"], down: down)
        return n
    }

    // MARK: the first decision

    func testNothingIsForwardedBeforeTheFirstDecision() throws {
        let n = cluster.add("s1", privateLink: false)
        try n.start()
        XCTAssertEqual(n.planned, [nil], "the table is installed with no slave before any verdict")
        n.report("eth0", .good)
        cluster.run()
        XCTAssertNil(n.active, "eth1 has not reported yet")
        n.report("eth1", .good)
        cluster.run()
        XCTAssertEqual(n.active, "eth0")
        XCTAssertEqual(n.status.switches, 0, "the first activation is not a failover")
    }

    func testTheFirstDecisionComesAtTheSettleLimitWhenASlaveIsSilent() throws {
        let n = cluster.add("s1", privateLink: false)
        try n.start()
        n.report("eth1", .good)
        cluster.advance(millis: 1999)
        XCTAssertNil(n.active)
        cluster.advance(millis: 1)
        XCTAssertEqual(n.active, "eth1")
    }

    func testABadFirstSlaveIsSkippedAtTheFirstDecision() throws {
        let n = try single(down: ["s1.eth0"])
        XCTAssertEqual(n.active, "eth1")
        XCTAssertEqual(n.planned, [nil, "eth1"])
    }

    func testAnAdoptedDataPlaneIsKeptWithoutASwitch() throws {
        let n = cluster.add("s1", privateLink: false)
        n.dataPlane.leftBehind = ("hanet0p", "eth1")
        try n.start()
        n.report("eth0", .good)
        n.report("eth1", .good)
        cluster.run()
        XCTAssertEqual(n.active, "eth1", "an equal slave does not take over from the adopted one")
        XCTAssertTrue(n.status.adopted)
        XCTAssertEqual(n.planned, [], "no rules are rewritten")
    }

    // MARK: switches on verdicts

    func testCarrierLossSwitchesToTheOtherPublicSlave() throws {
        let n = try single()
        XCTAssertEqual(n.active, "eth0")
        n.carrier("eth0", false)
        cluster.run()
        XCTAssertEqual(n.active, "eth1")
        XCTAssertEqual(n.planned.last, "eth1")
        XCTAssertEqual(n.status.switches, 1)
        XCTAssertEqual(n.status.last_switch?.from, "eth0")
    }

    func testTheSwitchIsMeasuredFromTheKernelEventNotFromTheVerdict() throws {
        let n = try single()
        let fault = cluster.clock.now
        n.carrier("eth0", false)
        // The executor gets to the event 3 ms later (a busy daemon).
        cluster.clock.now += 3_000_000
        cluster.run()
        let sw = try XCTUnwrap(n.status.last_switch)
        XCTAssertEqual(sw.trigger_monotonic_ns, fault)
        XCTAssertEqual(try XCTUnwrap(sw.trigger_to_rules_us), 3000, accuracy: 0.001)
    }

    func testASwitchMovesTheMasterToTheNewSlaveAndAnnounces() throws {
        let n = try single(master: "garp_count = 5")
        n.carrier("eth0", false)
        cluster.run()
        let eth1 = try XCTUnwrap(n.kernel.linksByName["eth1"]?.mac)
        XCTAssertEqual(n.kernel.linksByName["hanet0"]?.mac, eth1, "the master takes the active slave's MAC")
        XCTAssertEqual(n.announcer.sent.last, .init(address: IPv4Address("198.51.100.11")!, mac: eth1, interface: "eth1", count: 5))
    }

    func testAFailedTransactionLeavesTheActiveSlaveAsItWas() throws {
        let n = try single()
        n.dataPlane.failing = true
        n.carrier("eth0", false)
        cluster.run()
        XCTAssertEqual(n.active, "eth0", "the rules did not change, so neither does the active slave")
        XCTAssertEqual(n.status.switches, 0)
        n.dataPlane.failing = false
        n.report("eth1", .good, reason: "still up")
        n.report("eth0", .bad, reason: "still down")
        cluster.run()
        XCTAssertEqual(n.active, "eth0", "a repeated verdict is no change of health")
        n.carrier("eth1", false)
        n.carrier("eth1", true)
        cluster.run()
        XCTAssertEqual(n.active, "eth1", "the next change of health decides again")
    }

    func testNoGoodSlaveLeavesTheActiveOneInPlace() throws {
        let n = try single()
        n.carrier("eth0", false)
        n.carrier("eth1", false)
        cluster.run()
        XCTAssertEqual(n.planned.last, "eth1")
        XCTAssertEqual(n.active, "eth1", "with nothing GOOD the last choice stays (a path that might work beats none)")
    }

    func testAManualFailoverIsRefusedOntoABadSlave() throws {
        let n = try single()
        n.carrier("eth1", false)
        cluster.run()
        XCTAssertThrowsError(try n.daemon.failover(to: "eth1")) { e in
            XCTAssertTrue("\(e)".contains("eth1 is BAD"), "\(e)")
        }
        XCTAssertThrowsError(try n.daemon.failover(to: "eth9")) { e in
            XCTAssertTrue("\(e)".contains("no slave named eth9"), "\(e)")
        }
        n.carrier("eth1", true)
        cluster.run()
        try n.daemon.failover(to: "eth1")
        XCTAssertEqual(n.active, "eth1")
        XCTAssertEqual(n.status.last_switch?.reason, "manual failover")
    }

    func testPolicyAllNeedsEveryDetector() throws {
        let n = try single(links: "detector_policy = \"all\"", detectors: #"["carrier", "arp-monitor"]"#)
        for l in ["eth0", "eth1"] { n.report(l, .good, "arp-monitor") }
        cluster.run()
        XCTAssertEqual(n.active, "eth0")
        // eth1's detector_policy is "all" (the key follows it); eth0's is "any".
        n.report("eth0", .bad, "arp-monitor")
        cluster.run()
        XCTAssertEqual(n.active, "eth0", "policy any: carrier still says GOOD")
        n.carrier("eth0", false)
        cluster.run()
        XCTAssertEqual(n.active, "eth1")
        n.report("eth1", .bad, "arp-monitor")
        cluster.run()
        XCTAssertEqual(n.switcher.slave(named: "eth1")?.tracker.effective, .bad, "policy all: one BAD detector is enough")
    }

    // MARK: damping: one stage, one timer per slave

    func testMasterDowndelayHoldsAShortFaultAndPassesALongOneAtItsDeadline() throws {
        let n = try single(master: "downdelay_ms = 100")
        n.carrier("eth0", false)
        cluster.advance(millis: 50)
        n.carrier("eth0", true)
        cluster.advance(millis: 200)
        XCTAssertEqual(n.active, "eth0", "a 50 ms fault is shorter than downdelay")
        let fault = cluster.clock.now
        n.carrier("eth0", false)
        cluster.advance(millis: 99)
        XCTAssertEqual(n.active, "eth0")
        cluster.advance(millis: 1)
        XCTAssertEqual(n.active, "eth1")
        XCTAssertEqual(n.status.last_switch?.trigger_monotonic_ns.map { $0 - fault }, 100_000_000,
                       "a damped change is measured from its deadline")
    }

    func testADetectorsOwnDowndelayHoldsItsVerdict() throws {
        let n = try single(extra: "[detector.carrier]\ndowndelay_ms = 40\n")
        n.carrier("eth0", false)
        cluster.advance(millis: 39)
        XCTAssertEqual(n.active, "eth0")
        XCTAssertEqual(n.switcher.slave(named: "eth0")?.tracker.verdicts["carrier"]?.health, .good, "held by the detector's damper")
        cluster.advance(millis: 1)
        XCTAssertEqual(n.active, "eth1")
    }

    func testInitWaitHoldsABadReportedRightAfterStart() throws {
        let n = cluster.add("s1", config: DecisionCluster.pairConfig("s1", dir: cluster.dir, extra: "[detector.carrier]\ninit_wait_ms = 300\n",
                                                                     privateLink: false), privateLink: false)
        try n.start()
        n.report("eth0", .bad)
        n.report("eth1", .good)
        cluster.advance(millis: 100)
        XCTAssertNil(n.active, "eth0's BAD is held, so not every slave has a verdict")
        cluster.advance(millis: 200)
        XCTAssertEqual(n.active, "eth1", "at 300 ms eth0's BAD passes and the first decision skips it")
    }

    func testUpdelayDelaysTheFailbackToTheBetterSlave() throws {
        let n = try single(master: "updelay_ms = 200", links: "priority = 1")
        // eth1 has priority 1 (the key follows it), so it is the better slave.
        XCTAssertEqual(n.active, "eth1")
        n.carrier("eth1", false)
        cluster.run()
        XCTAssertEqual(n.active, "eth0")
        n.carrier("eth1", true)
        cluster.advance(millis: 199)
        XCTAssertEqual(n.active, "eth0", "eth1 is not GOOD again before updelay")
        cluster.advance(millis: 1)
        XCTAssertEqual(n.active, "eth1", "failback once eth1 is GOOD")
    }

    func testWithoutFailbackTheTrafficStaysWhereItWent() throws {
        let n = try single(master: "failback = false", links: "priority = 1")
        XCTAssertEqual(n.active, "eth1")
        n.carrier("eth1", false)
        n.carrier("eth1", true)
        cluster.run()
        XCTAssertEqual(n.active, "eth0")
    }

    func testFailbackNeverMovesBetweenEqualSlaves() throws {
        let n = try single()
        n.carrier("eth0", false)
        n.carrier("eth0", true)
        cluster.run()
        XCTAssertEqual(n.active, "eth1")
        XCTAssertEqual(n.status.switches, 1)
    }

    func testAFlappingLinkArmsOneTimerAtATime() throws {
        let n = try single(master: "downdelay_ms = 100")
        for _ in 0..<50 {
            n.carrier("eth0", false)
            n.carrier("eth0", true)
            cluster.advance(millis: 1)
        }
        XCTAssertLessThanOrEqual(n.executor.pendingTimers, 2, "one damping timer per slave, plus none left over")
        XCTAssertEqual(n.active, "eth0")
    }

    func testPluginDisabledForgetsItsVerdicts() throws {
        let n = try single(detectors: #"["carrier", "arp-monitor"]"#)
        n.report("eth0", .good, "arp-monitor")
        n.report("eth1", .good, "arp-monitor")
        n.carrier("eth0", false)
        cluster.run()
        XCTAssertEqual(n.active, "eth0", "policy any: arp-monitor still says GOOD")
        n.executor.sync { n.switcher.pluginStateChanged([(id: "arp-monitor", enabled: false)]) }
        cluster.run()
        XCTAssertEqual(n.detectors.running(on: "eth0"), ["carrier"])
        XCTAssertEqual(n.active, "eth1", "without arp-monitor, eth0 is BAD")
    }
}
