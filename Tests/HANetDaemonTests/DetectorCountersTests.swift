import Foundation
import HANetCore
import HANetDaemon
import HANetPluginTestKit
import XCTest

/// ABI 1.1's report_counters and the damping keys, through real plugins
/// compiled here: a 1.1 plugin's counters reach DetectorInstance.counters, a
/// 1.0 plugin (which cannot know the service) still loads and works, and
/// downdelay_ms is parsed for the daemon's damping stage.
final class DetectorCountersTests: XCTestCase {
    var dir = ""
    var flag = ""

    override func setUpWithError() throws {
        dir = try PluginTestKit.makeTrustedDirectory()
        flag = dir + ".flag"
        try "1".write(toFile: flag, atomically: true, encoding: .utf8)
    }

    override func tearDownWithError() throws {
        if !dir.isEmpty { try? FileManager.default.removeItem(atPath: dir) }
        try? FileManager.default.removeItem(atPath: flag)
    }

    /// A detector whose every poll counts one probe and reports the flag
    /// file's health ("1" GOOD, "2" BAD); `minor` is the ABI it declares.
    static func source(id: String, minor: Int) -> String {
        """
        #include <hanet/plugin.h>
        #include <stdio.h>
        #include <stdlib.h>
        typedef struct { const hanet_host_api *api; hanet_instance_handle *h; char path[256]; uint64_t polls; } inst;
        static int create(void *s, const hanet_detector_context *c, void **i, char *e, size_t n) {
            (void)s; (void)e; (void)n;
            inst *x = calloc(1, sizeof *x); x->api = c->api; x->h = c->handle;
            snprintf(x->path, sizeof x->path, "%s", c->api->config_get(c->api, c->config, "path"));
            *i = x; return HANET_OK;
        }
        static void destroy(void *i) { free(i); }
        static void poll_(void *i) {
            inst *x = i; char b[4] = ""; FILE *f = fopen(x->path, "r");
            if (f) { if (!fgets(b, sizeof b, f)) b[0] = 0; fclose(f); }
            x->polls++;
            int good = b[0] == '1';
        #if \(minor) >= 1
            if (HANET_HOST_API_HAS(x->api, report_counters))
                x->api->report_counters(x->api, x->h, x->polls, good ? x->polls : 0, good ? x->api->monotonic_ns(x->api) : 0);
        #endif
            x->api->report(x->api, x->h, good ? HANET_HEALTH_GOOD : HANET_HEALTH_BAD, good ? "flag 1" : "flag 2");
        }
        static const hanet_detector_type type = {
            .struct_size = sizeof(hanet_detector_type), .name = "\(id)", .description = "test",
            .default_interval_ms = 10, .create = create, .destroy = destroy, .poll = poll_,
        };
        static int init(const hanet_host_api *api, void **state, char *error, size_t error_size) {
            (void)state; (void)error; (void)error_size; return api->register_detector(api, &type);
        }
        static const hanet_plugin_descriptor descriptor = {
            .struct_size = sizeof(hanet_plugin_descriptor), .abi_major = 1, .abi_minor = \(minor),
            .id = "\(id)", .version = "0.0.1", .description = "test", .init = init,
        };
        __attribute__((visibility("default"))) const hanet_plugin_descriptor *hanet_plugin_entry_v1(void) { return &descriptor; }
        """
    }

    func loadHost() throws -> PluginHost {
        try PluginTestKit.compilePlugin(source: Self.source(id: "counting", minor: 1), fileName: "counting.so", in: dir)
        try PluginTestKit.compilePlugin(source: Self.source(id: "old-minor", minor: 0), fileName: "old.so", in: dir)
        let host = PluginHost { _, _, _ in }
        let records = host.load(from: PluginSearchPath(directory: dir, source: .option), disabled: [])
        XCTAssertEqual(records.map(\.state), [.enabled, .enabled], "\(records)")
        XCTAssertEqual(Set(records.compactMap(\.abiMinor)), [0, 1])
        return host
    }

    func testCountersReachTheInstanceAndA10PluginStillWorks() throws {
        let host = try loadHost()
        let rec = ReportRecorder()
        let counting = try host.createDetector(type: "counting", slave: "eth0", ifindex: 0, layer: .l2, intervalMillis: nil,
                                               config: ["path": .string(flag)], report: rec.callback)
        defer { counting.destroy() }
        XCTAssertNil(counting.counters, "no counters before the plugin reports any")
        let before = DispatchTime.now().uptimeNanoseconds
        for _ in 0..<3 { counting.poll() }
        let c = try XCTUnwrap(counting.counters)
        XCTAssertEqual(c.probesSent, 3)
        XCTAssertEqual(c.replies, 3)
        let last = try XCTUnwrap(c.lastReplyNanos)
        XCTAssertGreaterThanOrEqual(last, before)
        XCTAssertLessThan(try XCTUnwrap(c.lastReplyAge(now: DispatchTime.now().uptimeNanoseconds)), 5)
        XCTAssertTrue(rec.waitForLast(.good))

        let oldRec = ReportRecorder()
        let old = try host.createDetector(type: "old-minor", slave: "eth0", ifindex: 0, layer: .l2, intervalMillis: nil,
                                          config: ["path": .string(flag)], report: oldRec.callback)
        defer { old.destroy() }
        old.poll()
        XCTAssertTrue(oldRec.waitForLast(.good), "a 1.0 plugin's verdicts must still arrive")
        XCTAssertNil(old.counters)
    }

    /// The host parses a detector's damping keys and passes its raw verdicts
    /// on at once, each with its time: the damping is applied in one place,
    /// the daemon's `SlaveHealthTracker` (SwitcherDecisionTests drive it).
    func testDampingKeysAreParsedAndRawVerdictsPassAtOnce() throws {
        let host = try loadHost()
        let rec = ReportRecorder()
        let d = try host.createDetector(type: "counting", slave: "eth0", ifindex: 0, layer: .l2, intervalMillis: nil,
                                        config: ["path": .string(flag), "downdelay_ms": .integer(300)], report: rec.callback)
        defer { d.destroy() }
        XCTAssertEqual(d.damping, DetectorDamper.Settings(downdelayMillis: 300))
        d.poll()
        XCTAssertTrue(rec.waitForLast(.good))
        try "2".write(toFile: flag, atomically: true, encoding: .utf8)
        d.poll()
        // Delivered on the polling thread, before poll() returns.
        XCTAssertEqual(rec.last?.health, .bad, "\(rec.reports)")
        XCTAssertEqual(rec.last?.reason, "flag 2")
    }

    func testBadDampingValueRefusesTheInstance() throws {
        let host = try loadHost()
        XCTAssertThrowsError(try host.createDetector(type: "counting", slave: "eth3", ifindex: 0, layer: .l2, intervalMillis: nil,
                                                     config: ["path": .string(flag), "updelay_ms": .string("soon")], report: { _, _ in })) { e in
            XCTAssertTrue("\(e)".contains("updelay_ms") && "\(e)".contains("eth3"), "\(e)")
        }
    }
}
