import Foundation
import HANetCore
import HANetDaemon
import HANetPluginTestKit
import XCTest

/// Bad plugins, built here from small C sources, are each refused with their
/// own clear reason while the host keeps loading the good ones.
final class PluginRefusalTests: XCTestCase {
    var dir = ""

    override func setUpWithError() throws {
        dir = try PluginTestKit.makeTrustedDirectory()
    }

    override func tearDownWithError() throws {
        if !dir.isEmpty { try? FileManager.default.removeItem(atPath: dir) }
    }

    /// A complete detector plugin whose descriptor fields can be overridden.
    static func plugin(id: String, structSize: String = "sizeof(hanet_plugin_descriptor)", major: String = "HANET_PLUGIN_ABI_MAJOR",
                       minor: String = "HANET_PLUGIN_ABI_MINOR", initBody: String = "return api->register_detector(api, &type);",
                       entryName: String = "hanet_plugin_entry_v1", entryBody: String = "return &descriptor;") -> String {
        """
        #include <hanet/plugin.h>
        #include <stdio.h>
        static int create(void *s, const hanet_detector_context *c, void **i, char *e, size_t n) { (void)s; (void)c; (void)e; (void)n; *i = NULL; return HANET_OK; }
        static void destroy(void *i) { (void)i; }
        static const hanet_detector_type type = {
            .struct_size = sizeof(hanet_detector_type), .name = "\(id)-detector", .description = "test",
            .create = create, .destroy = destroy,
        };
        static int init(const hanet_host_api *api, void **state, char *error, size_t error_size) {
            (void)state; (void)error; (void)error_size;
            \(initBody)
        }
        static const hanet_plugin_descriptor descriptor = {
            .struct_size = \(structSize), .abi_major = \(major), .abi_minor = \(minor),
            .id = "\(id)", .version = "0.0.1", .description = "test plugin", .init = init,
        };
        __attribute__((visibility("default"))) const hanet_plugin_descriptor *\(entryName)(void) { \(entryBody) }
        """
    }

    func testEachBadPluginIsRefusedWithItsOwnReason() throws {
        try PluginTestKit.compilePlugin(source: Self.plugin(id: "good"), fileName: "good.so", in: dir)
        try PluginTestKit.compilePlugin(source: Self.plugin(id: "major-two", major: "2"), fileName: "major2.so", in: dir)
        try PluginTestKit.compilePlugin(source: Self.plugin(id: "newer-minor", minor: "HANET_PLUGIN_ABI_MINOR + 1"), fileName: "minor.so", in: dir)
        try PluginTestKit.compilePlugin(source: Self.plugin(id: "no-entry", entryName: "some_other_function"), fileName: "noentry.so", in: dir)
        try PluginTestKit.compilePlugin(source: Self.plugin(id: "v2-entry", entryName: "hanet_plugin_entry_v2"), fileName: "v2entry.so", in: dir)
        try PluginTestKit.compilePlugin(source: Self.plugin(id: "null-entry", entryBody: "(void)descriptor; return NULL;"), fileName: "nullentry.so", in: dir)
        try PluginTestKit.compilePlugin(source: Self.plugin(id: "init-fails", initBody: "(void)api; (void)type; snprintf(error, error_size, \"no widget found\"); return HANET_ERROR;"),
                                        fileName: "initfail.so", in: dir)
        try PluginTestKit.compilePlugin(source: Self.plugin(id: "too-big", structSize: "sizeof(hanet_plugin_descriptor) + 8"), fileName: "bigsize.so", in: dir)
        try PluginTestKit.compilePlugin(source: Self.plugin(id: "big-type", initBody: """
            static hanet_detector_type t2; t2 = type; t2.struct_size = sizeof(hanet_detector_type) + 16; t2.name = "big-type-detector";
            return api->register_detector(api, &t2);
            """), fileName: "bigtype.so", in: dir)
        try PluginTestKit.compilePlugin(source: Self.plugin(id: "no-destroy", initBody: """
            static hanet_detector_type t2; t2 = type; t2.destroy = NULL; t2.name = "no-destroy-detector";
            return api->register_detector(api, &t2);
            """), fileName: "nodestroy.so", in: dir)
        try PluginTestKit.compilePlugin(source: Self.plugin(id: "no-probe", initBody: """
            (void)type; static hanet_link_type l = { .struct_size = sizeof(hanet_link_type), .name = "no-probe-link" };
            return api->register_link_type(api, &l);
            """), fileName: "noprobe.so", in: dir)
        try PluginTestKit.compilePlugin(source: Self.plugin(id: "null-type", initBody: "(void)type; return api->register_link_type(api, NULL);"),
                                        fileName: "nulltype.so", in: dir)
        try PluginTestKit.compilePlugin(source: Self.plugin(id: "bad-name", initBody: """
            static hanet_detector_type t2; t2 = type; t2.name = "no spaces allowed";
            return api->register_detector(api, &t2);
            """), fileName: "badname.so", in: dir)
        try PluginTestKit.compilePlugin(source: Self.plugin(id: "writable"), fileName: "writable.so", in: dir)
        try FileManager.default.setAttributes([.posixPermissions: 0o666], ofItemAtPath: dir + "/writable.so")
        try "this is not an ELF file\n".write(toFile: dir + "/x.so", atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: dir + "/x.so")
        try FileManager.default.createDirectory(atPath: dir + "/folder.so", withIntermediateDirectories: false, attributes: [.posixPermissions: 0o755])

        var logged: [String] = []
        let host = PluginHost { _, _, m in logged.append(m) }
        let records = host.load(from: PluginSearchPath(directory: dir, source: .option), disabled: [])
        func record(_ file: String, _ line: UInt = #line) throws -> PluginRecord {
            try XCTUnwrap(records.first { ($0.file as NSString).lastPathComponent == file }, "no record for \(file): \(records)", line: line)
        }
        let expected: [(String, PluginState, String)] = [
            ("major2.so", .incompatible, "declares plugin ABI major 2; this host speaks major 1"),
            ("minor.so", .incompatible, "requires plugin ABI 1.3, newer than this host's 1.2"),
            ("noentry.so", .error, "missing entry symbol hanet_plugin_entry_v1"),
            ("v2entry.so", .incompatible, "built for plugin ABI major 2 (exports hanet_plugin_entry_v2)"),
            ("nullentry.so", .error, "entry hanet_plugin_entry_v1 returned NULL"),
            ("initfail.so", .error, "init failed (status -1): no widget found"),
            ("bigsize.so", .incompatible, "hanet_plugin_descriptor.struct_size is 48 bytes, larger than the 40 this host knows for ABI 1.2"),
            ("bigtype.so", .error, "init registered an invalid type: hanet_detector_type.struct_size is"),
            ("nodestroy.so", .error, "detector \"no-destroy-detector\" lacks create or destroy"),
            ("noprobe.so", .error, "link type \"no-probe-link\" lacks probe or describe"),
            ("nulltype.so", .error, "register_link_type(NULL)"),
            ("badname.so", .error, "detector name \"no spaces allowed\" is invalid"),
            ("writable.so", .error, "unsafe plugin file: world-writable (mode 666)"),
            ("x.so", .error, "not a loadable shared object: "),
            ("folder.so", .error, "unsafe plugin file: not a regular file (it is a directory)"),
        ]
        var reasons = Set<String>()
        for (file, state, fragment) in expected {
            let r = try record(file)
            XCTAssertEqual(r.state, state, "\(file): \(r.reason ?? "")")
            XCTAssertTrue(r.reason?.contains(fragment) ?? false, "\(file): expected reason containing \"\(fragment)\", got \"\(r.reason ?? "nil")\"")
            reasons.insert(r.reason ?? "")
        }
        XCTAssertEqual(reasons.count, expected.count, "every refusal has a distinct reason")
        let notELF = try record("x.so").reason ?? ""
        XCTAssertTrue(notELF.contains("invalid ELF header") || notELF.contains("file too short"), "the loader's own words are kept: \(notELF)")

        // The host kept going: the good plugin loaded and works; refused plugins offer nothing.
        let good = try record("good.so")
        XCTAssertEqual(good.state, .enabled)
        XCTAssertEqual(host.detectorTypeNames(), ["good-detector"])
        let d = try host.createDetector(type: "good-detector", slave: "lo", ifindex: 1, layer: .l2, intervalMillis: nil, config: [:]) { _, _ in }
        d.destroy()
        XCTAssertEqual(records.count, expected.count + 1)
        XCTAssertTrue(logged.contains { $0.contains("no widget found") }, "refusals are logged: \(logged)")
    }

    func testDirectoryThatOthersCanWriteIsRefusedAsRoot() throws {
        guard DynamicLibraryCheck.runningAsRoot else {
            XCTFail("these tests must run as root (ownership rules apply only to root)")
            return
        }
        try PluginTestKit.compilePlugin(source: Self.plugin(id: "good"), fileName: "good.so", in: dir)
        try FileManager.default.setAttributes([.posixPermissions: 0o777], ofItemAtPath: dir)
        let host = PluginHost { _, _, _ in }
        let records = host.load(from: PluginSearchPath(directory: dir, source: .option), disabled: [])
        XCTAssertEqual(records.count, 1)
        XCTAssertEqual(records.first?.state, .error)
        XCTAssertTrue(records.first?.reason?.contains("plugins directory \(dir): world-writable (mode 777)") ?? false, "\(records)")
        XCTAssertEqual(host.detectorTypeNames(), [])

        // Owned by someone else: also refused.
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: dir)
        try FileManager.default.setAttributes([.ownerAccountID: 65534], ofItemAtPath: dir + "/good.so")
        let again = PluginHost { _, _, _ in }.load(from: PluginSearchPath(directory: dir, source: .option), disabled: [])
        XCTAssertTrue(again.first?.reason?.contains("not owned by root (owner uid 65534)") ?? false, "\(again)")
    }

    func testDuplicateIDsAndTypeNamesAreRefused() throws {
        try PluginTestKit.compilePlugin(source: Self.plugin(id: "twin"), fileName: "a.so", in: dir)
        try PluginTestKit.compilePlugin(source: Self.plugin(id: "twin"), fileName: "b.so", in: dir)
        let records = PluginHost { _, _, _ in }.load(from: PluginSearchPath(directory: dir, source: .option), disabled: [])
        XCTAssertEqual(records.map(\.state), [.enabled, .error])
        XCTAssertTrue(records[1].reason?.contains("duplicate plugin id \"twin\": already loaded from \(dir)/a.so") ?? false, "\(records)")
    }
}

import HANetSystem
enum DynamicLibraryCheck {
    static var runningAsRoot: Bool { DynamicLibrary.runningAsRoot }
}
