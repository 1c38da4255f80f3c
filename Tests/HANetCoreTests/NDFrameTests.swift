import XCTest
@testable import HANetCore

/// Frames the kernel (Linux 6.1) sent between two namespaces, captured with
/// tcpdump: ndisc_notify's unsolicited NA after a MAC change, the NS `ping -6`
/// caused, and the solicited NA that answered it.
final class NDFrameTests: XCTestCase {
    static func hex(_ s: String) -> [UInt8] {
        let digits = Array(s.filter(\.isHexDigit))
        return stride(from: 0, to: digits.count, by: 2).map { UInt8(String(digits[$0...$0 + 1]), radix: 16)! }
    }

    /// 2001:db8:1::11 > ff02::1, NA, Flags [override], TLLA 02:00:00:00:00:1a.
    static let kernelUnsolicitedNA = hex("""
    3333 0000 0001 0200 0000 001a 86dd 6000 0000 0020 3aff 2001 0db8 0001 0000 0000
    0000 0000 0011 ff02 0000 0000 0000 0000 0000 0000 0001 8800 f8ef 2000 0000 2001
    0db8 0001 0000 0000 0000 0000 0011 0201 0200 0000 001a
    """)
    /// 2001:db8:1::22 > ff02::1:ff00:11, NS who has 2001:db8:1::11, SLLA 02:00:00:00:00:0b.
    static let kernelNS = hex("""
    3333 ff00 0011 0200 0000 000b 86dd 6000 0000 0020 3aff 2001 0db8 0001 0000 0000
    0000 0000 0022 ff02 0000 0000 0000 0000 0001 ff00 0011 8700 1bdc 0000 0000 2001
    0db8 0001 0000 0000 0000 0000 0011 0101 0200 0000 000b
    """)
    /// 2001:db8:1::11 > 2001:db8:1::22, NA tgt 2001:db8:1::11, Flags [solicited, override], TLLA 02:00:00:00:00:0a.
    static let kernelSolicitedNA = hex("""
    0200 0000 000b 0200 0000 000a 86dd 6000 0000 0020 3aff 2001 0db8 0001 0000 0000
    0000 0000 0011 2001 0db8 0001 0000 0000 0000 0000 0022 8800 8a27 6000 0000 2001
    0db8 0001 0000 0000 0000 0000 0011 0201 0200 0000 000a
    """)

    let service = IPv6Address("2001:db8:1::11")!

    func testUnsolicitedAdvertisementIsByteForByteTheKernels() {
        let frame = NDFrame.unsolicitedAdvertisement(target: service, mac: MACAddress("02:00:00:00:00:1a")!)
        XCTAssertEqual(frame, Self.kernelUnsolicitedNA)
        XCTAssertEqual(frame.count, NDFrame.length)
    }

    func testSolicitationIsByteForByteTheKernels() {
        let frame = NDFrame.solicitation(target: service, source: IPv6Address("2001:db8:1::22")!, mac: MACAddress("02:00:00:00:00:0b")!)
        XCTAssertEqual(frame, Self.kernelNS)
    }

    func testParsesTheKernelsFrames() throws {
        let na = try NDFrame.parse(Self.kernelUnsolicitedNA).get()
        XCTAssertEqual(na.kind, .advertisement)
        XCTAssertTrue(na.override)
        XCTAssertFalse(na.solicited)
        XCTAssertFalse(na.router)
        XCTAssertEqual(na.destination, .allNodes)
        XCTAssertEqual(na.ethernetDestination.description, "33:33:00:00:00:01")
        XCTAssertEqual(na.target, service)
        XCTAssertEqual(na.linkLayerAddress, MACAddress("02:00:00:00:00:1a"))

        let ns = try NDFrame.parse(Self.kernelNS).get()
        XCTAssertEqual(ns.kind, .solicitation)
        XCTAssertEqual(ns.destination, service.solicitedNodeMulticast)
        XCTAssertEqual(ns.linkLayerAddress, MACAddress("02:00:00:00:00:0b"))

        let answer = try NDFrame.answer(Self.kernelSolicitedNA, to: service).get()
        XCTAssertTrue(answer.solicited && answer.override)
        XCTAssertEqual(answer.linkLayerAddress, MACAddress("02:00:00:00:00:0a"))
        // Re-encoding the parsed packet gives the kernel's bytes back.
        for frame in [Self.kernelUnsolicitedNA, Self.kernelNS, Self.kernelSolicitedNA] {
            XCTAssertEqual(NDFrame.encode(try NDFrame.parse(frame).get()), frame)
        }
        // Ethernet padding after the payload is ignored.
        XCTAssertEqual(try NDFrame.parse(Self.kernelSolicitedNA + [0, 0, 0, 0]).get(), answer)
    }

    func testValidationRefusesWhatRFC4861Refuses() {
        func problem(_ edit: (inout [UInt8]) -> Void, _ base: [UInt8] = NDFrameTests.kernelSolicitedNA, target: IPv6Address? = nil) -> NDProblem? {
            var b = base
            edit(&b)
            if case .failure(let e) = NDFrame.answer(b, to: target ?? service) { return e }
            return nil
        }
        XCTAssertNil(problem { _ in })
        XCTAssertEqual(problem { $0[21] = 64 }, .hopLimit(64))                 // routed from elsewhere
        XCTAssertEqual(problem { $0[60] ^= 0x01 }, .badChecksum)               // the target altered
        XCTAssertEqual(problem { $0[55] = 1 }, .badCode(1))
        XCTAssertEqual(problem { $0[12] = 0x08; $0[13] = 0x00 }, .notIPv6)
        XCTAssertEqual(problem { $0[20] = 0 }, .notICMPv6)                     // hop-by-hop header first
        XCTAssertEqual(problem { $0.removeLast(9) }, .truncated)
        XCTAssertEqual(problem({ _ in }, target: IPv6Address("2001:db8:1::99")!), .wrongTarget(service))
        XCTAssertEqual(problem({ _ in }, Self.kernelNS), .notND(135))
        // An option of length 0 would loop forever in a careless parser.
        var zeroOption = NDPacket(ethernetDestination: .zero, ethernetSource: .zero, source: service, destination: service,
                                  kind: .advertisement, solicited: true, target: service, linkLayerAddress: .zero)
        var frame = NDFrame.encode(zeroOption)
        frame[NDFrame.length - 7] = 0
        let sum = NDFrame.checksum(source: service, destination: service, icmp: Array(frame[54...]))
        frame[56] = UInt8(sum >> 8); frame[57] = UInt8(sum & 0xff)
        XCTAssertEqual(problem({ _ in }, frame), .badOption)
        // Solicited to a multicast group is invalid.
        zeroOption.destination = .allNodes
        XCTAssertEqual(problem({ _ in }, NDFrame.encode(zeroOption)), .solicitedToMulticast)
    }

    func testRandomBytesNeverCrashTheParser() {
        var rng = PTAWireFuzzTests.SplitMix64(state: 0x6D_6E_64)
        var valid = 0
        for i in 0..<50_000 {
            var b = [Self.kernelUnsolicitedNA, Self.kernelNS, Self.kernelSolicitedNA][i % 3]
            if i % 2 == 0 {
                b = PTAWireFuzzTests.noise(Int.random(in: 0...120, using: &rng), &rng)
            } else {
                for _ in 0..<Int.random(in: 1...3, using: &rng) {
                    b[Int.random(in: 0..<b.count, using: &rng)] ^= UInt8(1) << UInt8.random(in: 0...7, using: &rng)
                }
                if Bool.random(using: &rng) { b.removeLast(Int.random(in: 0...b.count, using: &rng)) }
            }
            if case .success = NDFrame.parse(b) { valid += 1 }
        }
        // A flip that survives the checksum can only hit the Ethernet header or the flow label.
        XCTAssertLessThan(valid, 5000)
    }
}
