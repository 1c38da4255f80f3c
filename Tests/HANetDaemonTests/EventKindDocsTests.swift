import Foundation
import XCTest
import HANetCore
@testable import HANetDaemon

/// docs/operations.md's tables of event kinds, control commands and link flags
/// list exactly what the code's enums have, so the docs cannot drift.
final class EventKindDocsTests: XCTestCase {
    /// The first cells of the rows of the table whose header row is `header`.
    static func firstCells(ofTable header: String, file: StaticString = #filePath, line: UInt = #line) throws -> [String] {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        let text = try String(contentsOf: url.appendingPathComponent("docs/operations.md"), encoding: .utf8)
        let start = try XCTUnwrap(text.range(of: header + "\n"), "no table \(header) in docs/operations.md", file: file, line: line)
        return text[start.upperBound...].split(separator: "\n", omittingEmptySubsequences: false)
            .dropFirst(1).prefix { $0.hasPrefix("|") }
            .map { $0.split(separator: "|").first?.trimmingCharacters(in: .whitespaces) ?? "" }
    }

    /// Each cell's one backquoted name; fails on a row that names none.
    static func names(_ cells: [String], file: StaticString = #filePath, line: UInt = #line) -> [String] {
        let names = cells.compactMap { cell -> String? in
            cell.hasPrefix("`") && cell.hasSuffix("`") ? String(cell.dropFirst().dropLast()) : nil
        }
        XCTAssertEqual(names.count, cells.count, "every row names one in backquotes: \(cells)", file: file, line: line)
        XCTAssertEqual(names.count, Set(names).count, "one is listed twice: \(names)", file: file, line: line)
        return names
    }

    func testTheDocumentedKindsAreExactlyTheCodesKinds() throws {
        let documented = Self.names(try Self.firstCells(ofTable: "| kind | when |"))
        XCTAssertEqual(Set(documented), Set(EventKind.allCases.map(\.rawValue)))
    }

    func testTheDocumentedLinkFlagsAreExactlyTheCodesFlags() throws {
        let documented = Self.names(try Self.firstCells(ofTable: "| flag | meaning |"))
        XCTAssertEqual(documented, LinkFlag.allCases.map(\.rawValue), "in the order status lists them")
    }

    func testTheDocumentedControlCommandsAreExactlyTheCodesCommands() throws {
        let cells = try Self.firstCells(ofTable: "| request | answer |")
        let pattern = try NSRegularExpression(pattern: #"^`\{"command":"([a-z-]+)""#)
        let documented = cells.compactMap { cell -> String? in
            guard let m = pattern.firstMatch(in: cell, range: NSRange(cell.startIndex..., in: cell)),
                  let r = Range(m.range(at: 1), in: cell) else { return nil }
            return String(cell[r])
        }
        XCTAssertEqual(documented.count, cells.count, "every row starts with a request naming its command: \(cells)")
        XCTAssertEqual(documented.count, Set(documented).count, "a command is listed twice: \(documented)")
        XCTAssertEqual(Set(documented), Set(ControlCommand.allCases.map(\.rawValue)))
    }

    func testAnUnknownCommandIsRefusedNamingEveryKnownOne() throws {
        XCTAssertEqual(try ControlProtocol.Request(command: "plugins-reload").parsedCommand(), .pluginsReload)
        for c in ControlCommand.allCases {
            XCTAssertEqual(try ControlProtocol.Request(c).parsedCommand(), c)
        }
        XCTAssertThrowsError(try ControlProtocol.Request(command: "statu").parsedCommand()) { error in
            let e = error as? HANetError
            XCTAssertEqual(e?.code, .usage)
            XCTAssertEqual(e?.message, "unknown command \"statu\"; known: ping, status, failover, plugins-reload, reload, events, subscribe")
        }
    }
}
