import Foundation
@testable import HANetCore
@testable import HANetDaemon
@testable import HANetSystem
import XCTest

/// The master's IPv6 side on the fakes: service addresses without DAD,
/// the slaves' IPv6 hygiene, unsolicited NAs after every switch to a public
/// slave, the plan's IPv6 fields, status and reload.
final class IPv6DecisionTests: DecisionTestCase {
    static let service6 = IPv6Prefix("2001:db8::11/64")!

    /// s1 of the pair with `2001:db8::11/64` beside its IPv4 address.
    func dualStackConfig(master: String = "", privateLink: Bool = false) -> String {
        DecisionCluster.pairConfig("s1", dir: cluster.dir, extraMaster: master, privateLink: privateLink)
            .replacingOccurrences(of: #"addresses = ["198.51.100.11/24"]"#,
                                  with: #"addresses = ["198.51.100.11/24", "2001:db8::11/64"]"#)
    }

    func dualStack(master: String = "", before: (DecisionNode) -> Void = { _ in }) throws -> DecisionNode {
        let n = cluster.add("s1", config: dualStackConfig(master: master), privateLink: false)
        before(n)
        try cluster.start(["s1"])
        return n
    }

    func testIPv6ServiceAddressesGoOnTheMasterWithoutDADAndNeverOnASlave() throws {
        let n = try dualStack { n in
            n.kernel.ipv6AddressesByLink["eth1"] = [KernelIPv6Address(prefix: Self.service6, flags: 0)]
        }
        let m = try XCTUnwrap(n.kernel.ipv6AddressesByLink["hanet0"])
        XCTAssertEqual(m.map(\.prefix), [Self.service6])
        XCTAssertTrue(m[0].isNoDAD)
        XCTAssertEqual(n.kernel.ipv6AddressesByLink["eth1"], [], "a slave holding a service address would answer for it")
        for s in ["eth0", "eth1"] {
            XCTAssertEqual(n.sysctl.values["net/ipv6/conf/\(s)/accept_ra"], "0", s)
            XCTAssertEqual(n.sysctl.values["net/ipv6/conf/\(s)/autoconf"], "0", s)
        }
        XCTAssertEqual(n.sysctl.values["net/ipv6/conf/hanet0/addr_gen_mode"], "2")
        XCTAssertEqual(n.sysctl.values["net/ipv6/conf/hanet0/stable_secret"], IPv6Hygiene.stableSecret(node: "s1").description)
    }

    func testAServiceAddressTheMasterHeldWithDADIsAddedAgainWithout() throws {
        let n = try dualStack { n in
            n.kernel.add("hanet0")
            n.kernel.add("hanet0p")
            n.kernel.ipv6AddressesByLink["hanet0"] = [KernelIPv6Address(prefix: Self.service6, flags: KernelIPv6Address.flagDADFailed)]
        }
        let m = try XCTUnwrap(n.kernel.ipv6AddressesByLink["hanet0"])
        XCTAssertEqual(m.map(\.prefix), [Self.service6])
        XCTAssertTrue(m[0].isNoDAD)
        XCTAssertFalse(m[0].isDADFailed)
        XCTAssertEqual(n.status.master.ipv6_flags, ["2001:db8::11/64": ["nodad"]])
    }

    func testStatusShowsTheIPv6AddressesAndTheirFlags() throws {
        let n = try dualStack()
        XCTAssertEqual(n.status.master.addresses, ["198.51.100.11/24", "2001:db8::11/64"])
        n.kernel.ipv6AddressesByLink["hanet0"]![0].flags |= KernelIPv6Address.flagTentative
        XCTAssertEqual(n.status.master.ipv6_flags, ["2001:db8::11/64": ["nodad", "tentative"]])
    }

    func testEverySwitchToAPublicSlaveSendsNAsWithTheMastersMAC() throws {
        let n = try dualStack(master: "na_count = 2\nna_interval_ms = 30")
        let mac0 = try XCTUnwrap(n.kernel.linksByName["eth0"]?.mac), mac1 = try XCTUnwrap(n.kernel.linksByName["eth1"]?.mac)
        XCTAssertEqual(n.announcer.sentNA, [.init(address: Self.service6.address, mac: mac0, interface: "eth0", count: 2, intervalMillis: 30)])
        n.carrier("eth0", false)
        cluster.run()
        XCTAssertEqual(n.active, "eth1")
        XCTAssertEqual(n.announcer.sentNA.last, .init(address: Self.service6.address, mac: mac1, interface: "eth1", count: 2, intervalMillis: 30))
        XCTAssertEqual(n.announcer.sentNA.count, 2)
        XCTAssertEqual(n.announcer.sent.count, 2, "gratuitous ARP goes on as before")
    }

    func testNACountZeroSendsNone() throws {
        let n = try dualStack(master: "na_count = 0")
        XCTAssertEqual(n.announcer.sentNA, [])
        XCTAssertEqual(n.announcer.sent.count, 1)
    }

    func testThePlanCarriesTheIPv6ServiceAddresses() throws {
        let n = try dualStack()
        XCTAssertEqual(n.dataPlane.current?.ipv6ServiceAddresses, [Self.service6.address])
        XCTAssertEqual(n.dataPlane.current?.serviceAddresses, [IPv4Address("198.51.100.11")!])
    }

    func testAnIPv4OnlyNodeTouchesNothingOfIPv6() throws {
        let n = cluster.add("s1", privateLink: false)
        try cluster.start(["s1"])
        XCTAssertEqual(n.kernel.ipv6AddressesByLink, [:])
        XCTAssertEqual(n.sysctl.values.keys.filter { $0.hasPrefix("net/ipv6/") && !$0.hasSuffix("/disable_ipv6") }, [])
        XCTAssertEqual(n.announcer.sentNA, [])
        XCTAssertNil(n.status.master.ipv6_flags)
        XCTAssertEqual(n.dataPlane.current?.ipv6ServiceAddresses, [])
    }

    func testReloadRefusesAChangeOfTheIPv6ServiceAddresses() throws {
        let old = try HANetConfig.parse(dualStackConfig(), file: "a.toml")
        let new = try HANetConfig.parse(dualStackConfig().replacingOccurrences(of: "2001:db8::11/64", with: "2001:db8::21/64"), file: "a.toml")
        XCTAssertEqual(Daemon.restartNeeded(from: old, to: new),
                       ["master.addresses (IPv6) changed (service addresses are what PTA siblings carry); restart the daemon to apply it"])
        XCTAssertEqual(Daemon.restartNeeded(from: old, to: old), [])
    }
}
