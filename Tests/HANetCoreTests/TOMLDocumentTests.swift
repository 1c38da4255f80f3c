import XCTest
@testable import HANetCore

final class TOMLDocumentTests: XCTestCase {
    private func parse(_ text: String) throws -> TOMLTable {
        try TOMLDocument.parse(text, file: "t.toml").root
    }

    /// The single problem of a syntax error, as "line: key: message".
    private func syntaxError(_ text: String, file: StaticString = #filePath, line: UInt = #line) -> ConfigProblem? {
        do {
            _ = try TOMLDocument.parse(text, file: "t.toml")
            XCTFail("expected a syntax error", file: file, line: line)
            return nil
        } catch let e as ConfigError {
            XCTAssertEqual(e.problems.count, 1, file: file, line: line)
            return e.problems.first
        } catch {
            XCTFail("unexpected error \(error)", file: file, line: line)
            return nil
        }
    }

    private func table(_ v: TOMLValue?) -> TOMLTable? {
        if case .table(let t)? = v?.kind { return t }
        return nil
    }

    func testScalarsAndLines() throws {
        let root = try parse("""
        # comment
        a = "x\\ty\\u00e9\\"" # trailing comment
        b = 'C:\\path'
        c = -1_000
        d = 0xff
        e = 3.5e2
        f = true
        g = +inf
        "quoted key" = 1
        bare-key_1 = 2
        """)
        XCTAssertEqual(root["a"]?.value, TOMLValue(.string("x\ty\u{e9}\""), line: 2))
        XCTAssertEqual(root["b"]?.value, TOMLValue(.string("C:\\path"), line: 3))
        XCTAssertEqual(root["c"]?.value, TOMLValue(.integer(-1000), line: 4))
        XCTAssertEqual(root["d"]?.value, TOMLValue(.integer(255), line: 5))
        XCTAssertEqual(root["e"]?.value, TOMLValue(.float(350), line: 6))
        XCTAssertEqual(root["f"]?.value, TOMLValue(.boolean(true), line: 7))
        XCTAssertEqual(root["g"]?.value.kind, .float(.infinity))
        XCTAssertEqual(root["quoted key"]?.value.kind, .integer(1))
        XCTAssertEqual(root["bare-key_1"]?.keyLine, 10)
        XCTAssertEqual(root.keys, ["a", "b", "c", "d", "e", "f", "g", "quoted key", "bare-key_1"])
    }

    func testMultilineArrayWithTrailingCommaAndNesting() throws {
        let root = try parse("""
        list = [
          "a",   # first
          "b",
          [1, 2],
        ]
        empty = []
        """)
        guard case .array(let items)? = root["list"]?.value.kind else { return XCTFail("not an array") }
        XCTAssertEqual(items.map(\.line), [2, 3, 4])
        XCTAssertEqual(items[2].kind, .array([TOMLValue(.integer(1), line: 4), TOMLValue(.integer(2), line: 4)]))
        XCTAssertEqual(root["empty"]?.value, TOMLValue(.array([]), line: 6))
    }

    func testMultilineStrings() throws {
        let root = try parse("a = \"\"\"\nline1\n  line2 \\\n   cont\"\"\"\nb = '''\nraw \\n'''\nc = 1")
        XCTAssertEqual(root["a"]?.value.kind, .string("line1\n  line2 cont"))
        XCTAssertEqual(root["b"]?.value.kind, .string("raw \\n"))
        XCTAssertEqual(root["c"]?.value.line, 7)
    }

    func testInlineTableAndDottedKeys() throws {
        let root = try parse("""
        point = { x = 1, y.z = "w" }
        a.b.c = true
        a.b.d = false
        """)
        let point = try XCTUnwrap(table(root["point"]?.value))
        XCTAssertEqual(point["x"]?.value.kind, .integer(1))
        XCTAssertEqual(table(point["y"]?.value)?["z"]?.value.kind, .string("w"))
        let b = try XCTUnwrap(table(table(root["a"]?.value)?["b"]?.value))
        XCTAssertEqual(b.keys, ["c", "d"])
        XCTAssertEqual(b["d"]?.keyLine, 3)
    }

    func testSubTableHeaderAttachesToLastArrayElement() throws {
        let root = try parse("""
        [[link]]
        interface = "eth0"
        [[link]]
        interface = "eth1"
        [link.detector.arp-monitor]
        interval_ms = 20
        [[link]]
        interface = "eth2"
        """)
        guard case .tableArray(let links)? = root["link"]?.value.kind else { return XCTFail("not an array of tables") }
        XCTAssertEqual(links.count, 3)
        XCTAssertEqual(links.map(\.line), [1, 3, 7])
        XCTAssertNil(links[0]["detector"])
        XCTAssertNil(links[2]["detector"])
        let arp = try XCTUnwrap(table(table(links[1]["detector"]?.value)?["arp-monitor"]?.value))
        XCTAssertEqual(arp["interval_ms"]?.value, TOMLValue(.integer(20), line: 6))
        XCTAssertEqual(arp.line, 5)
    }

    func testImplicitTableMayBeDefinedLater() throws {
        let root = try parse("[a.b]\nx = 1\n[a]\ny = 2")
        let a = try XCTUnwrap(table(root["a"]?.value))
        XCTAssertEqual(a["y"]?.value.kind, .integer(2))
        XCTAssertEqual(table(a["b"]?.value)?["x"]?.value.kind, .integer(1))
    }

    func testDuplicateKeyNamesBothLines() {
        let p = syntaxError("[master]\nname = \"a\"\n\nname = \"b\"")
        XCTAssertEqual(p?.line, 4)
        XCTAssertEqual(p?.description, "t.toml:4: master.name: duplicate key 'name' in [master]; first defined on line 2")
    }

    func testRedefinedTable() {
        let p = syntaxError("[node]\nname = \"a\"\n[node]\n")
        XCTAssertEqual(p?.line, 3)
        XCTAssertEqual(p?.message, "table [node] is defined twice; first defined on line 1")
    }

    func testTableOverValueAndArrayOverTable() {
        XCTAssertEqual(syntaxError("a = 1\n[a]")?.line, 2)
        XCTAssertEqual(syntaxError("[a]\n[[a]]")?.message, "[[a]] redefines 'a', already defined on line 1 as a table or value")
        XCTAssertEqual(syntaxError("[[a]]\n[a]")?.line, 2)
        XCTAssertEqual(syntaxError("a.b = 1\n[a]")?.line, 2)
        XCTAssertEqual(syntaxError("x = {a = 1}\n[x.b]")?.line, 2)
    }

    func testSyntaxErrorsCarryLineAndKey() {
        let missingEquals = syntaxError("[node]\nname \"s1\"")
        XCTAssertEqual(missingEquals?.description, "t.toml:2: node.name: expected '=' after key 'name', found '\"'")
        XCTAssertEqual(syntaxError("[master]\naddresses = [\"a\"\n\n")?.line, 4)
        XCTAssertEqual(syntaxError("[master]\naddresses = [\"a\"\n\n")?.key, "master.addresses")
        XCTAssertEqual(syntaxError("a = \"open\nb = 1")?.line, 1)
        XCTAssertEqual(syntaxError("a = 1 b = 2")?.message, "expected the end of the line, found 'b' (one key = value per line)")
        XCTAssertEqual(syntaxError("a = 01")?.message.hasPrefix("invalid number '01'"), true)
        XCTAssertEqual(syntaxError("a = 1__0")?.message.hasPrefix("invalid number"), true)
        XCTAssertEqual(syntaxError("a = 9223372036854775808")?.message.hasPrefix("invalid number"), true)
        XCTAssertEqual(syntaxError("a = 1979-05-27")?.message.hasPrefix("dates and times are not supported"), true)
        XCTAssertEqual(syntaxError("a = yes")?.message.hasPrefix("expected a value"), true)
        XCTAssertEqual(syntaxError("a = \"\\q\"")?.message.hasPrefix("unknown escape sequence '\\q'"), true)
        XCTAssertEqual(syntaxError("[a\nb = 1")?.message, "expected ']' to close the table header")
        XCTAssertEqual(syntaxError("[[a]\n")?.message, "expected ']]' to close the array-of-tables header")
        XCTAssertEqual(syntaxError("a =\n")?.message, "expected a value after '='")
        XCTAssertEqual(syntaxError("= 1")?.line, 1)
        // Inline tables stay on one line (TOML 1.0): the error is where the line ends.
        XCTAssertEqual(syntaxError("x = { a = 1,\n b = 2 }")?.description,
                       "t.toml:1: x: expected a key (letters, digits, '_', '-' or a quoted string), found the end of the line")
    }

    func testCRLFLineEndings() throws {
        let root = try parse("a = 1\r\nb = 2\r\n")
        XCTAssertEqual(root["b"]?.value, TOMLValue(.integer(2), line: 2))
    }
}
