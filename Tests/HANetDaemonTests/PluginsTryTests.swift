import Foundation
import HANetCore
@testable import HANetDaemon
import HANetPluginTestKit
import XCTest

/// `hanet plugins try` through the built executable, on a veth pair in a
/// network namespace of the test's own: verdicts stream out as they happen
/// and flip when the watched condition flips; slow polls are reported.
final class PluginsTryTests: XCTestCase {
    var namespace = ""
    var scratch: [String] = []

    override func tearDownWithError() throws {
        if !namespace.isEmpty { _ = try? PluginTestKit.run("/usr/sbin/ip", ["netns", "del", namespace]) }
        for d in scratch { try? FileManager.default.removeItem(atPath: d) }
    }

    /// A namespace named per test, holding the veth pair hv0 <-> hv1, both up.
    func makeVeth() throws {
        namespace = "hnt-try-\(String(format: "%06x", UInt32.random(in: 0..<0xffffff)))"
        try ip(["netns", "add", namespace])
        try ip(["-n", namespace, "link", "add", "hv0", "type", "veth", "peer", "name", "hv1"])
        try ip(["-n", namespace, "link", "set", "hv0", "up"])
        try ip(["-n", namespace, "link", "set", "hv1", "up"])
    }

    func ip(_ args: [String]) throws {
        let r = try PluginTestKit.run("/usr/sbin/ip", args)
        guard r.status == 0 else { throw HANetError(.io, "ip \(args.joined(separator: " ")): \(r.stderr)") }
    }

    func trustedDirectory(_ tag: String) throws -> String {
        let d = try PluginTestKit.makeTrustedDirectory(tag)
        scratch.append(d)
        return d
    }

    /// `hanet plugins try ARGS --json` inside the namespace, its JSON lines collected as they arrive.
    final class TryProcess: @unchecked Sendable {
        let process = Process()
        private let condition = NSCondition()
        private var events: [(TrialEvent, Date)] = []
        private var stderrText = ""

        init(namespace: String, arguments: [String]) throws {
            let exe = try PluginTestKit.productsDirectory() + "/hanet"
            process.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
            process.arguments = ["netns", "exec", namespace, exe, "plugins", "try"] + arguments + ["--json"]
            let out = Pipe(), err = Pipe()
            process.standardOutput = out
            process.standardError = err
            try process.run()
            Thread.detachNewThread { [self] in
                var buffer = Data()
                while true {
                    let chunk = out.fileHandleForReading.availableData
                    if chunk.isEmpty { break }
                    buffer.append(chunk)
                    while let nl = buffer.firstIndex(of: 10) {
                        let line = buffer[buffer.startIndex..<nl]
                        buffer.removeSubrange(buffer.startIndex...nl)
                        if let e = try? JSONDecoder().decode(TrialEvent.self, from: line) {
                            condition.lock()
                            events.append((e, Date()))
                            condition.broadcast()
                            condition.unlock()
                        }
                    }
                }
            }
            Thread.detachNewThread { [self] in
                let text = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
                condition.lock()
                stderrText = text
                condition.unlock()
            }
        }

        var all: [TrialEvent] {
            condition.lock()
            defer { condition.unlock() }
            return events.map(\.0)
        }

        var stderr: String {
            condition.lock()
            defer { condition.unlock() }
            return stderrText
        }

        /// Waits for the first event after `index` that `match`es; returns it with when it arrived.
        func next(after index: Int, timeout: TimeInterval = 5, _ match: (TrialEvent) -> Bool) -> (index: Int, event: TrialEvent, at: Date)? {
            let deadline = Date(timeIntervalSinceNow: timeout)
            condition.lock()
            defer { condition.unlock() }
            while true {
                if let i = events.indices.first(where: { $0 >= index && match(events[$0].0) }) {
                    return (i, events[i].0, events[i].1)
                }
                if !condition.wait(until: deadline) { return nil }
            }
        }

        func stop() {
            if process.isRunning { process.terminate() }
            process.waitUntilExit()
        }
    }

    /// Starts `try`, checks the first verdict is `first` within one interval of
    /// the instance's creation, then for each flip: runs it and checks the
    /// verdict turns `health` within one interval (plus `slack` for the pipe).
    func checkFlips(_ args: [String], interval: Double, first: Health, flips: [(Health, () throws -> Void)],
                    slack: Double = 0.15) throws -> [String] {
        let p = try TryProcess(namespace: namespace, arguments: args)
        defer { p.stop() }
        var figures: [String] = []
        guard let v0 = p.next(after: 0, { $0.event == .verdict }) else {
            XCTFail("no verdict: \(p.all) \(p.stderr)")
            return figures
        }
        XCTAssertEqual(v0.event.health, first, "\(v0.event)")
        XCTAssertLessThanOrEqual(v0.event.elapsedMillis, interval * 1000, "first verdict within one interval")
        figures.append("first verdict after \(Int(v0.event.elapsedMillis)) ms")
        var index = v0.index + 1
        for (health, flip) in flips {
            let t0 = Date()
            try flip()
            guard let v = p.next(after: index, { $0.event == .verdict && $0.health == health }) else {
                XCTFail("no \(health) verdict after the flip: \(p.all) \(p.stderr)")
                return figures
            }
            let latency = v.at.timeIntervalSince(t0)
            XCTAssertLessThanOrEqual(latency, interval + slack, "\(health) within one interval: \(v.event)")
            XCTAssertFalse(v.event.reason?.isEmpty ?? true)
            figures.append("\(health.rawValue) \(Int(latency * 1000)) ms after the flip")
            index = v.index + 1
        }
        return figures
    }

    func testTryBuiltinCarrierOnVethFlipsWithCarrier() throws {
        try makeVeth()
        let figures = try checkFlips(["carrier", "--slave", "hv0", "--set", "interval_ms=200"], interval: 0.2, first: .good, flips: [
            (.bad, { try self.ip(["-n", self.namespace, "link", "set", "hv1", "down"]) }),
            (.good, { try self.ip(["-n", self.namespace, "link", "set", "hv1", "up"]) }),
        ])
        print("carrier via plugins try: \(figures.joined(separator: ", "))")
    }

    /// Runs a probing detector on hv0 against 2001:db8:1::1, which hv1 holds:
    /// GOOD while hv1 answers, BAD once the address is gone (carrier stays up:
    /// a silent fault), GOOD again when it is back. Returns the figures.
    func checkIPv6TargetFlips(_ args: [String], good reason: String, badPrefix: String) throws -> String {
        try makeVeth()
        try ip(["-n", namespace, "addr", "add", "2001:db8:1::1/64", "dev", "hv1", "nodad"])
        let p = try TryProcess(namespace: namespace, arguments: args + ["--slave", "hv0", "--set", "interval_ms=50", "--set", "missed_max=2"])
        defer { p.stop() }
        guard let good = p.next(after: 0, { $0.event == .verdict && $0.health == .good }) else {
            XCTFail("no GOOD verdict: \(p.all) \(p.stderr)")
            return ""
        }
        XCTAssertEqual(good.event.reason, reason)
        XCTAssertLessThan(good.event.elapsedMillis, 500, "\(good.event)")
        var t0 = Date()
        try ip(["-n", namespace, "addr", "del", "2001:db8:1::1/64", "dev", "hv1"])
        guard let bad = p.next(after: good.index + 1, { $0.event == .verdict && $0.health == .bad }) else {
            XCTFail("no BAD verdict: \(p.all) \(p.stderr)")
            return ""
        }
        let toBad = bad.at.timeIntervalSince(t0)
        XCTAssertTrue(bad.event.reason?.hasPrefix(badPrefix) ?? false, "\(bad.event)")
        XCTAssertLessThanOrEqual(toBad, 0.05 * 3 + 0.15, "BAD within missed_max + 1 intervals")
        t0 = Date()
        try ip(["-n", namespace, "addr", "add", "2001:db8:1::1/64", "dev", "hv1", "nodad"])
        guard let back = p.next(after: bad.index + 1, { $0.event == .verdict && $0.health == .good }) else {
            XCTFail("no GOOD verdict after the address came back: \(p.all) \(p.stderr)")
            return ""
        }
        let toGood = back.at.timeIntervalSince(t0)
        XCTAssertLessThanOrEqual(toGood, 0.05 * 2 + 0.15, "GOOD within two intervals")
        return "first GOOD after \(Int(good.event.elapsedMillis)) ms, BAD \(Int(toBad * 1000)) ms after the address went, GOOD \(Int(toGood * 1000)) ms after it came back"
    }

    func testTryNSMonitorOnVethFlipsWithTheTargetsAddress() throws {
        let figures = try checkIPv6TargetFlips(["ns-monitor", "--set", "targets=2001:db8:1::1"],
                                               good: "neighbour advertisements from 2001:db8:1::1",
                                               badPrefix: "no neighbour advertisement from 2001:db8:1::1 for 2 intervals of 50 ms")
        print("ns-monitor via plugins try: \(figures)")
    }

    func testTryPingFileWithAnIPv6HostFlipsWithItsAddress() throws {
        let dir = try trustedDirectory("pf6")
        let hosts = dir + "/hosts"
        try "# an IPv6 host beside an IPv4 one that never answers\n2001:db8:1::1\n198.51.100.77\n".write(toFile: hosts, atomically: true, encoding: .utf8)
        let figures = try checkIPv6TargetFlips(["ping-file", "--set", "file=\(hosts)", "--set", "min_ok=1"],
                                               good: "1 of 2 hosts answer ARP (the slave has no address of its own; IPv6: neighbour advertisements)",
                                               badPrefix: "0 of 2 hosts answered")
        print("ping-file (IPv6 host) via plugins try: \(figures)")
    }

    func testTryTemplateOnVethFlipsWithTheFlagFile() throws {
        try makeVeth()
        let work = try trustedDirectory("try-template")
        let plugins = try trustedDirectory("try-plugins")
        try FileManager.default.copyItem(atPath: PluginTestKit.templateDirectory, toPath: work + "/file-flag")
        try? FileManager.default.removeItem(atPath: work + "/file-flag/build")
        let make = try PluginTestKit.run("/usr/bin/make", ["HANET_CFLAGS=-I\(PluginTestKit.headerDirectory)"], directory: work + "/file-flag")
        XCTAssertEqual(make.status, 0, make.stdout + make.stderr)
        try FileManager.default.copyItem(atPath: work + "/file-flag/build/hanet-plugin-file-flag.so", toPath: plugins + "/hanet-plugin-file-flag.so")
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: plugins + "/hanet-plugin-file-flag.so")
        let flag = work + "/fault-hv0"
        let figures = try checkFlips(["file-flag", "--slave", "hv0", "--plugins-dir", plugins, "--set", "path=\(flag)"],
                                     interval: 0.1, first: .good, flips: [
            (.bad, { XCTAssertTrue(FileManager.default.createFile(atPath: flag, contents: Data())) }),
            (.good, { try FileManager.default.removeItem(atPath: flag) }),
        ])
        print("file-flag via plugins try: \(figures.joined(separator: ", "))")
    }

    /// A detector whose poll sleeps `sleepMillis`.
    static func slowPlugin(sleepMillis: Int) -> String {
        """
        #define _DEFAULT_SOURCE
        #include <hanet/plugin-util.h>
        #include <unistd.h>
        static int create(void *s, const hanet_detector_context *c, void **i, char *e, size_t n) {
            (void)s; (void)e; (void)n; *i = NULL;
            c->api->report(c->api, c->handle, HANET_HEALTH_GOOD, "slow but fine");
            return HANET_OK;
        }
        static void destroy(void *i) { (void)i; }
        static void poll_(void *i) { (void)i; if (\(sleepMillis) > 0) usleep(\(sleepMillis) * 1000); }
        static const hanet_detector_type type = {
            .struct_size = sizeof(hanet_detector_type), .name = "sleepy-\(sleepMillis)", .description = "sleeps in poll",
            .default_interval_ms = 50, .create = create, .destroy = destroy, .poll = poll_,
        };
        HANET_UTIL_DETECTOR_PLUGIN("sleepy-\(sleepMillis)", "1.0.0", 0, type, "a poll that sleeps")
        """
    }

    func testSlowPollIsReportedByTryAndLoggedRateLimited() throws {
        try makeVeth()
        let plugins = try trustedDirectory("slow")
        try PluginTestKit.compilePlugin(source: Self.slowPlugin(sleepMillis: 20), fileName: "sleepy.so", in: plugins)
        try PluginTestKit.compilePlugin(source: Self.slowPlugin(sleepMillis: 0), fileName: "quick.so", in: plugins)

        let p = try TryProcess(namespace: namespace, arguments: ["sleepy-20", "--slave", "hv0", "--plugins-dir", plugins, "--for", "1s"])
        defer { p.stop() }
        let slow = p.next(after: 0, { $0.event == .slowPoll })
        XCTAssertNotNil(slow, "\(p.all) \(p.stderr)")
        XCTAssertGreaterThanOrEqual(slow?.event.pollMillis ?? 0, 20)
        XCTAssertEqual(slow?.event.budgetMillis, 5)
        let summary = p.next(after: 0, { $0.event == .summary })
        XCTAssertGreaterThanOrEqual(summary?.event.slowPolls ?? 0, 2, "\(String(describing: summary))")
        XCTAssertEqual(summary?.event.slowPolls, summary?.event.polls)

        // In the daemon's host: counted on the instance, logged once, then held back by the rate limit.
        var lines: [String] = []
        let lock = NSLock()
        let host = PluginHost { _, level, message in
            lock.lock()
            if level == 2 { lines.append(message) }
            lock.unlock()
        }
        host.load(from: PluginSearchPath(directory: plugins, source: .option), disabled: [])
        let d = try host.createDetector(type: "sleepy-20", slave: "hv0", ifindex: 0, layer: .l2, intervalMillis: nil, config: [:]) { _, _ in }
        defer { d.destroy() }
        for _ in 0..<3 { d.poll() }
        XCTAssertEqual(d.pollTiming.slowPolls, 3)
        XCTAssertGreaterThanOrEqual(d.pollTiming.maxNanos, 20_000_000)
        lock.lock()
        XCTAssertEqual(lines.count, 1, "\(lines)")
        XCTAssertTrue(lines.first?.hasPrefix("detector sleepy-20 on hv0: poll took ") ?? false, "\(lines)")
        XCTAssertTrue(lines.first?.hasSuffix("over its budget of 5.0 ms") ?? false, "\(lines)")
        lock.unlock()

        // What measuring costs: a poll that does nothing, called from a loop.
        let q = try host.createDetector(type: "sleepy-0", slave: "hv0", ifindex: 0, layer: .l2, intervalMillis: nil, config: [:]) { _, _ in }
        defer { q.destroy() }
        let n = 100_000
        let t0 = DispatchTime.now().uptimeNanoseconds
        for _ in 0..<n { q.poll() }
        let perCall = Double(DispatchTime.now().uptimeNanoseconds - t0) / Double(n)
        let inside = Double(q.pollTiming.totalNanos) / Double(n)
        // A no-op poll is microseconds; one preempted for a time slice on a busy machine may
        // cross the 5 ms budget, but not one in a thousand.
        XCTAssertLessThan(q.pollTiming.slowPolls, UInt64(n / 1000), "no-op polls counted as slow")
        print("poll budget accounting: \(Int(perCall)) ns per no-op poll() call in all, \(Int(inside)) ns of it between the two clock reads")
    }

    func testSlowPollLimiterLogsFirstThenOncePerPeriodWithCount() {
        var l = SlowPollLimiter(every: 1_000)
        XCTAssertEqual(l.offer(nanos: 7_000_000, now: 10, budget: 5_000_000), "poll took 7.0 ms, over its budget of 5.0 ms")
        XCTAssertNil(l.offer(nanos: 9_000_000, now: 500, budget: 5_000_000))
        XCTAssertNil(l.offer(nanos: 6_000_000, now: 900, budget: 5_000_000))
        XCTAssertEqual(l.offer(nanos: 6_000_000, now: 1_010, budget: 5_000_000),
                       "3 polls over the budget of 5.0 ms since the last report, the longest 9.0 ms")
    }
}
