import XCTest
@testable import HANetCore

final class PTAIPv6PathTests: XCTestCase {
    func testTheGatewayEmbedsTheSiblingsIPv4End() {
        XCTAssertEqual(PTAIPv6Path.gateway(siblingEnd: IPv4Address("169.254.77.2")!).description, "fe80::a9fe:4d02")
    }

    func testEachOnLinkPrefixIsSplitInTwoHalvesThatWinByLongestMatch() {
        let r = PTAIPv6Path.routes(service: [IPv6Prefix("2001:db8::11/64")!, IPv6Prefix("2001:db8::12/64")!,
                                             IPv6Prefix("2001:db8:5::1/128")!, IPv6Prefix("2001:db8:7::1/80")!],
                                   hasDefault: false)
        XCTAssertEqual(r.map(\.description), ["2001:db8::/65", "2001:db8:0:0:8000::/65",
                                              "2001:db8:7::/81", "2001:db8:7::8000:0:0/81"])
    }

    func testADefaultRouteIsCoveredByTheTwoHalvesOfTheAddressSpace() {
        XCTAssertEqual(PTAIPv6Path.routes(service: [], hasDefault: true).map(\.description), ["::/1", "8000::/1"])
    }
}
