import XCTest
@testable import HANetCore

final class PTAReplayGuardTests: XCTestCase {
    private func msg(_ sender: String = "s2", boot: UInt64, counter: UInt64) -> PTAMessage {
        PTAMessage(type: .takeover, sender: sender, counter: counter, bootID: boot)
    }

    private func accepted(_ g: inout PTAReplayGuard, _ m: PTAMessage) -> Bool {
        g.accept(m) == nil
    }

    func testCountersMustIncreaseWithinABoot() {
        var g = PTAReplayGuard()
        XCTAssertTrue(accepted(&g, msg(boot: 7, counter: 100)))
        XCTAssertEqual(g.accept(msg(boot: 7, counter: 100)), .staleCounter(sender: "s2", counter: 100, last: 100))
        XCTAssertEqual(g.accept(msg(boot: 7, counter: 50)), .staleCounter(sender: "s2", counter: 50, last: 100))
        XCTAssertTrue(accepted(&g, msg(boot: 7, counter: 101)))
        // Rejections do not move the state.
        XCTAssertEqual(g.accept(msg(boot: 7, counter: 101)), .staleCounter(sender: "s2", counter: 101, last: 101))
    }

    func testRestartedSenderIsAcceptedAndItsOldBootIsNot() {
        var g = PTAReplayGuard()
        XCTAssertTrue(accepted(&g, msg(boot: 1, counter: 1_000_000)))
        XCTAssertTrue(accepted(&g, msg(boot: 2, counter: 5)))         // restarted: counter starts low again
        XCTAssertEqual(g.accept(msg(boot: 1, counter: 2_000_000)), .oldBoot(sender: "s2", bootID: 1))
        XCTAssertTrue(accepted(&g, msg(boot: 2, counter: 6)))
    }

    func testSendersAreIndependent() {
        var g = PTAReplayGuard()
        XCTAssertTrue(accepted(&g, msg("s2", boot: 1, counter: 10)))
        XCTAssertTrue(accepted(&g, msg("s3", boot: 1, counter: 1)))
        XCTAssertFalse(accepted(&g, msg("s3", boot: 1, counter: 1)))
        XCTAssertTrue(accepted(&g, msg("s2", boot: 1, counter: 11)))
    }

    func testOnlyTheLastBootsAreRemembered() {
        var g = PTAReplayGuard(rememberedBoots: 2)
        for boot in 1...4 as ClosedRange<UInt64> { XCTAssertTrue(accepted(&g, msg(boot: boot, counter: 1))) }
        // Current 4, remembered 2 and 3; boot 1 was forgotten — the documented limit.
        XCTAssertFalse(accepted(&g, msg(boot: 3, counter: 9)))
        XCTAssertFalse(accepted(&g, msg(boot: 2, counter: 9)))
        XCTAssertTrue(accepted(&g, msg(boot: 1, counter: 9)))
    }
}
