import Foundation
import XCTest

/// Network namespaces a test creates with `ip netns add`, named
/// "<prefix>-<random>-<suffix>" ("hnt" unless given) so a failed run never
/// collides with the next, and deleted in `cleanUp()` (call it from tearDown,
/// so it runs after failures too).
final class TestNamespaces {
    let tag = String(format: "%06x", UInt32.random(in: 0..<0xffffff))
    /// "hnt"; "rt" for the routing tests.
    let prefix: String
    private(set) var created: [String] = []

    init(prefix: String = "hnt") { self.prefix = prefix }

    func make(_ suffix: String) throws -> String {
        let name = "\(prefix)-\(tag)-\(suffix)"
        try Shell.run("/usr/sbin/ip", "netns", "add", name)
        created.append(name)
        return name
    }

    func cleanUp() {
        for name in created.reversed() {
            _ = try? Shell.run("/usr/sbin/ip", "netns", "del", name)
        }
        created.removeAll()
    }

    /// Runs `ip -n NS args…`.
    @discardableResult
    func ip(_ ns: String, _ args: String...) throws -> String {
        try Shell.run("/usr/sbin/ip", ["-n", ns] + args)
    }

    /// Runs a command inside the namespace (`ip netns exec`).
    @discardableResult
    func exec(_ ns: String, _ args: String...) throws -> String {
        try Shell.run("/usr/sbin/ip", ["netns", "exec", ns] + args)
    }

    /// True if one ping (1 s timeout) from `ns` to `address` is answered.
    func pings(from ns: String, to address: String) -> Bool {
        (try? Shell.run("/usr/sbin/ip", ["netns", "exec", ns, "ping", "-c", "1", "-W", "1", "-q", address])) != nil
    }

    /// True if one IPv6 ping (1 s timeout) from `ns` to `address` is answered.
    func pings6(from ns: String, to address: String) -> Bool {
        (try? Shell.run("/usr/sbin/ip", ["netns", "exec", ns, "ping", "-6", "-c", "1", "-W", "1", "-q", address])) != nil
    }
}

struct ShellError: Error, CustomStringConvertible {
    var description: String
}

enum Shell {
    @discardableResult
    static func run(_ path: String, _ args: String...) throws -> String {
        try run(path, args)
    }

    @discardableResult
    static func run(_ path: String, _ args: [String]) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: path)
        p.arguments = args
        let out = Pipe()
        p.standardOutput = out
        p.standardError = out
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self)
        guard p.terminationStatus == 0 else {
            throw ShellError(description: "\(path) \(args.joined(separator: " ")) exited \(p.terminationStatus): \(text)")
        }
        return text
    }
}

/// Polls `condition` until it holds or `seconds` pass; returns whether it held.
func waitFor(_ seconds: Double, interval: Double = 0.01, _ condition: () throws -> Bool) rethrows -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    repeat {
        if try condition() { return true }
        Thread.sleep(forTimeInterval: interval)
    } while Date() < deadline
    return try condition()
}
