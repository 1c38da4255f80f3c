import Foundation
import Glibc
import XCTest
import HANetCore
@testable import HANetDaemon

/// `PTAKeyFile.read`: as root, a key file must be root's alone. The tests run
/// as root, so they exercise the strict checks the daemon applies.
final class KeyFileReaderTests: XCTestCase {
    var dir = ""
    static let keyText = "# s1-s2\n00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n"

    override func setUpWithError() throws {
        try XCTSkipUnless(geteuid() == 0, "the strict checks apply only as root")
        dir = NSTemporaryDirectory() + "hanet-key-\(UInt32.random(in: 0..<UInt32.max))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    override func tearDown() {
        if !dir.isEmpty { try? FileManager.default.removeItem(atPath: dir) }
    }

    func keyFile(mode: Int, owner: uid_t = 0, text: String = keyText) throws -> String {
        let path = "\(dir)/s2.key"
        try text.write(toFile: path, atomically: false, encoding: .utf8)
        XCTAssertEqual(chmod(path, mode_t(mode)), 0)
        XCTAssertEqual(chown(path, owner, gid_t(owner)), 0)
        return path
    }

    func message(_ path: String) -> String? {
        do {
            _ = try PTAKeyFile.read(path)
            return nil
        } catch {
            return (error as? HANetError)?.message ?? "\(error)"
        }
    }

    func test0600OwnedByRootIsRead() throws {
        let path = try keyFile(mode: 0o600)
        XCTAssertEqual(try PTAKeyFile.read(path), Array(0..<16).map { UInt8($0 * 0x11) } + Array(0..<16).map { UInt8($0 * 0x11) })
        // 0400 is as private as 0600.
        XCTAssertEqual(chmod(path, 0o400), 0)
        XCTAssertEqual(try PTAKeyFile.read(path).count, 32)
    }

    func test0644IsRefusedWithTheFix() throws {
        let path = try keyFile(mode: 0o644)
        XCTAssertEqual(message(path), "key file \(path) is readable by group or others (mode 0644); run chmod 600 \(path)")
    }

    func test0640IsRefused() throws {
        let path = try keyFile(mode: 0o640)
        XCTAssertEqual(message(path), "key file \(path) is readable by group or others (mode 0640); run chmod 600 \(path)")
    }

    func testGroupWritableIsRefused() throws {
        let path = try keyFile(mode: 0o620)
        XCTAssertEqual(message(path), "key file \(path) is writable by group or others (mode 0620); run chmod 600 \(path)")
    }

    func testFileOwnedByAnotherUserIsRefused() throws {
        let path = try keyFile(mode: 0o600, owner: 65534)
        XCTAssertEqual(message(path), "key file \(path) is owned by uid 65534, not root; run chown root:root \(path)")
        XCTAssertEqual(chmod(path, 0o644), 0)
        XCTAssertEqual(message(path), "key file \(path) is owned by uid 65534, not root and is readable by group or others (mode 0644); "
                       + "run chown root:root \(path) && chmod 600 \(path)")
    }

    func testNotStrictReadsAnyMode() throws {
        let path = try keyFile(mode: 0o644, owner: 65534)
        XCTAssertEqual(try PTAKeyFile.read(path, strict: false).count, 32)
    }

    func testMissingDirectoryAndBadTextAreNamed() throws {
        let absent = "\(dir)/absent.key"
        XCTAssertEqual(message(absent), "key file \(absent) does not exist (create one with `openssl rand -hex 32 > \(absent)` and `chmod 600 \(absent)`)")
        XCTAssertEqual(message(dir), "key file \(dir) is not a regular file; expected a file of hexadecimal text")
        let bad = try keyFile(mode: 0o600, text: "00112233445566778899aabbccddeeff\nzz\n")
        XCTAssertEqual(message(bad), "\(bad):2: expected hexadecimal key text (such as the output of `openssl rand -hex 32`), found 'z'")
        let big = try keyFile(mode: 0o600, text: String(repeating: "0", count: 70_000))
        XCTAssertEqual(message(big), "key file \(big) is 70000 bytes; expected a key of at most 256 hex digits")
    }

    /// `hanet check` and a reload report it at the sibling's line, under its key.
    func testConfigCheckReportsItAtTheSiblingsLine() throws {
        let path = try keyFile(mode: 0o644)
        let text = """
        [node]
        name = "s1"

        [master]
        addresses = ["198.51.100.11/24"]

        [[link]]
        interface = "priv0"
        role = "private"
        sibling = "s2"
        address = "169.254.77.1/30"

        [[sibling]]
        name = "s2"
        address = "169.254.77.2"
        key_file = "\(path)"
        addresses = ["198.51.100.12/32"]
        """
        let config = try HANetConfig.parse(text, file: "/etc/hanet/hanet.toml")
        let problems = ConfigCheck.offline(config, detectorTypes: nil, linkTypes: nil)
        XCTAssertEqual(problems.map { "\($0.file):\($0.line): \($0.key): \($0.message)" },
                       ["/etc/hanet/hanet.toml:13: sibling[0].key_file: key file \(path) is readable by group or others (mode 0644); run chmod 600 \(path)"])
    }
}
