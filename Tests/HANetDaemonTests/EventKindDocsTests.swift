import Foundation
import XCTest
@testable import HANetDaemon

/// docs/operations.md lists every event kind the daemon emits, and nothing else.
final class EventKindDocsTests: XCTestCase {
    func testTheDocumentedKindsAreExactlyTheCodesKinds() throws {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        let text = try String(contentsOf: url.appendingPathComponent("docs/operations.md"), encoding: .utf8)
        let start = try XCTUnwrap(text.range(of: "| kind | when |"), "no kinds table in docs/operations.md")
        let table = text[start.upperBound...].split(separator: "\n", omittingEmptySubsequences: false)
            .dropFirst(2).prefix { $0.hasPrefix("|") }
        let documented = table.compactMap { row -> String? in
            let cell = row.split(separator: "|").first?.trimmingCharacters(in: .whitespaces) ?? ""
            return cell.hasPrefix("`") && cell.hasSuffix("`") ? String(cell.dropFirst().dropLast()) : nil
        }
        XCTAssertEqual(documented.count, table.count, "every row names one kind in backquotes")
        XCTAssertEqual(Set(documented), Set(EventKind.allCases.map(\.rawValue)))
        XCTAssertEqual(documented.count, Set(documented).count, "a kind is listed twice")
    }
}
