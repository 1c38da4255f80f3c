import Foundation
import HANetPluginTestKit
import HANetSystem
import Logging
import XCTest
@testable import HANetDaemon

/// The daemon's log: its two line formats, journal priorities, level filtering
/// (plugins' levels included) and the JOURNAL_STREAM detection.
final class DaemonLogTests: XCTestCase {
    /// Collects lines; the handler may call it from any thread.
    final class Lines: @unchecked Sendable {
        private let lock = Lock()
        private var all: [String] = []
        func append(_ s: String) { lock.withLock { all.append(s) } }
        var lines: [String] { lock.withLock { all } }
    }

    func log(_ format: DaemonLogHandler.Format, level: Int = 1) -> (DaemonLog, Lines) {
        let lines = Lines()
        return (DaemonLog(node: "s1", minimumLevel: level, format: format, sink: { lines.append($0) }), lines)
    }

    func testHumanLinesCarryTimeNodeAndLevel() throws {
        let (log, out) = log(.human)
        log.info("eth0 is active")
        log.error("cannot open eth9")
        XCTAssertEqual(out.lines.count, 2)
        let pattern = try NSRegularExpression(pattern: #"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z hanet\[s1\] (info|error): .+$"#)
        for line in out.lines {
            XCTAssertEqual(pattern.numberOfMatches(in: line, range: NSRange(line.startIndex..., in: line)), 1, line)
        }
        XCTAssertTrue(out.lines[0].hasSuffix(" hanet[s1] info: eth0 is active"), out.lines[0])
        XCTAssertTrue(out.lines[1].hasSuffix(" hanet[s1] error: cannot open eth9"), out.lines[1])
    }

    func testJournalLinesCarrySyslogPrioritiesAndNoTime() {
        let (log, out) = log(.journal, level: 0)
        log.debug("d")
        log.info("i")
        log.warning("w")
        log.error("e")
        XCTAssertEqual(out.lines, ["<7>hanet[s1] debug: d", "<6>hanet[s1] info: i", "<4>hanet[s1] warning: w", "<3>hanet[s1] error: e"])
    }

    func testEveryLineOfAMultiLineJournalMessageHasThePriority() {
        let (log, out) = log(.journal)
        log.warning("reload refused:\n  a.toml:3: x\n  a.toml:4: y")
        XCTAssertEqual(out.lines, ["<4>hanet[s1] warning: reload refused:\n<4>  a.toml:3: x\n<4>  a.toml:4: y"])
    }

    func testTheConfiguredLevelDropsLowerLines() {
        for (minimum, expected) in [(0, ["d", "i", "w", "e"]), (1, ["i", "w", "e"]), (2, ["w", "e"]), (3, ["e"])] {
            let (log, out) = log(.journal, level: minimum)
            log.debug("d"); log.info("i"); log.warning("w"); log.error("e")
            XCTAssertEqual(out.lines.map { String($0.split(separator: " ").last!) }, expected, "minimum level \(minimum)")
            XCTAssertEqual(log.logger.logLevel, DaemonLog.swiftLogLevel(minimum))
        }
    }

    /// A plugin passes its level (hanet_log_level 0...3) through the host's log callback,
    /// which the daemon forwards as `write(level:_:)`: at the default level its debug
    /// lines never reach the journal, its warnings arrive as warnings, and a level
    /// outside the ABI's range is clamped rather than trusted.
    func testPluginLevelsAreHonoured() {
        let (log, out) = log(.journal)
        log.write(level: 0, "plugin arp-monitor: probe sent")
        log.write(level: 2, "plugin arp-monitor: no reply from 192.0.2.1")
        log.write(level: -4, "plugin x: below debug")
        log.write(level: 99, "plugin x: above error")
        XCTAssertEqual(out.lines, ["<4>hanet[s1] warning: plugin arp-monitor: no reply from 192.0.2.1",
                                   "<3>hanet[s1] error: plugin x: above error"])
        XCTAssertEqual(log.minimumLevel, 1)
    }

    /// The same through a real plugin: a C plugin compiled here logs at every level from its
    /// init (api->log), the host's callback goes to `DaemonLog.plugin`, as the daemon's does.
    func testARealPluginsDebugLinesStayOutOfAnInfoJournal() throws {
        let dir = try PluginTestKit.makeTrustedDirectory("log")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try PluginTestKit.compilePlugin(source: """
            #include <hanet/plugin.h>
            static int init(const hanet_host_api *api, void **state, char *error, size_t error_size) {
                (void)state; (void)error; (void)error_size;
                api->log(api, HANET_LOG_DEBUG, "debug from init");
                api->log(api, HANET_LOG_INFO, "info from init");
                api->log(api, HANET_LOG_WARNING, "warning from init");
                api->log(api, HANET_LOG_ERROR, "error from init");
                api->log(api, 42, "a level no ABI has");
                return HANET_OK;
            }
            static const hanet_plugin_descriptor descriptor = {
                .struct_size = sizeof(hanet_plugin_descriptor), .abi_major = 1, .abi_minor = 0,
                .id = "chatty", .version = "0.0.1", .description = "logs at every level", .init = init,
            };
            __attribute__((visibility("default"))) const hanet_plugin_descriptor *hanet_plugin_entry_v1(void) { return &descriptor; }
            """, fileName: "chatty.so", in: dir)
        let (log, out) = log(.journal)
        let host = PluginHost(logger: log.plugin)
        host.load(from: PluginSearchPath(directory: dir, source: .option), disabled: [])
        XCTAssertEqual(host.records.first?.state, .enabled, "\(host.records)")
        let fromPlugin = out.lines.filter { $0.contains("plugin chatty:") && !$0.contains(" loaded ") }
        XCTAssertEqual(fromPlugin, ["<6>hanet[s1] info: plugin chatty: info from init",
                                    "<4>hanet[s1] warning: plugin chatty: warning from init",
                                    "<3>hanet[s1] error: plugin chatty: error from init",
                                    "<3>hanet[s1] error: plugin chatty: a level no ABI has"], "\(out.lines)")
    }

    func testLevelFromTheEnvironment() {
        XCTAssertEqual(DaemonLog.level(from: [:]), 1)
        XCTAssertEqual(DaemonLog.level(from: ["HANET_LOG_LEVEL": "debug"]), 0)
        XCTAssertEqual(DaemonLog.level(from: ["HANET_LOG_LEVEL": "WARNING"]), 2)
        XCTAssertEqual(DaemonLog.level(from: ["HANET_LOG_LEVEL": "error"]), 3)
        XCTAssertEqual(DaemonLog.level(from: ["HANET_LOG_LEVEL": "verbose"]), 1, "an unknown name logs at info")
        XCTAssertEqual(DaemonLog.levels.map { DaemonLog.swiftLogLevel(DaemonLog.levels.firstIndex(of: $0)!).rawValue }, DaemonLog.levels,
                       "the ABI's level names are swift-log's")
    }

    func testSwiftLogMetadataIsAppendedSorted() {
        let (log, out) = log(.journal)
        var logger = log.logger
        logger[metadataKey: "slave"] = "eth0"
        logger.warning("BAD", metadata: ["detector": "carrier"])
        XCTAssertEqual(out.lines, ["<4>hanet[s1] warning: BAD detector=carrier slave=eth0"])
    }

    func testJournalIsDetectedOnlyWhenStderrIsTheJournalStream() {
        let id: (dev: UInt64, ino: UInt64) = (64769, 123456)
        typealias F = DaemonLogHandler.Format
        XCTAssertEqual(F.detect(environment: ["JOURNAL_STREAM": "64769:123456"], stderrIdentity: id), .journal)
        XCTAssertEqual(F.detect(environment: [:], stderrIdentity: id), .human)
        XCTAssertEqual(F.detect(environment: ["JOURNAL_STREAM": "64769:999"], stderrIdentity: id), .human,
                       "stderr redirected elsewhere by a parent: the variable is inherited, the stream is not")
        XCTAssertEqual(F.detect(environment: ["JOURNAL_STREAM": "64769:123456"], stderrIdentity: nil), .human, "stderr closed")
        for bad in ["", "64769", "64769:", ":123456", "x:y", "64769:123456:1"] {
            XCTAssertEqual(F.detect(environment: ["JOURNAL_STREAM": bad], stderrIdentity: id), .human, bad)
        }
    }

    /// The real fstat of this process's stderr against a JOURNAL_STREAM made from a file's
    /// identity: matching only when fd 2 is that very file.
    func testDetectionReadsTheRealStderr() throws {
        let id = try XCTUnwrap(DaemonLogHandler.Format.stderrIdentity())
        var st = stat()
        XCTAssertEqual(fstat(2, &st), 0)
        XCTAssertEqual(id.dev, UInt64(st.st_dev))
        XCTAssertEqual(id.ino, UInt64(st.st_ino))
        XCTAssertEqual(DaemonLogHandler.Format.detect(environment: ["JOURNAL_STREAM": "\(st.st_dev):\(st.st_ino)"]), .journal)
        XCTAssertEqual(DaemonLogHandler.Format.detect(environment: ["JOURNAL_STREAM": "\(st.st_dev):\(st.st_ino &+ 1)"]), .human)
    }
}
