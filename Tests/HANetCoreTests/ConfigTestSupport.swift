import XCTest
@testable import HANetCore

extension XCTestCase {
    /// The problems of a config that must fail, as "file:line: key: message".
    func problems(_ text: String, file: StaticString = #filePath, line: UInt = #line) -> [String] {
        do {
            _ = try HANetConfig.parse(text, file: "c.toml")
            XCTFail("expected a ConfigError", file: file, line: line)
            return []
        } catch let e as ConfigError {
            return e.problems.map(\.description)
        } catch {
            XCTFail("unexpected \(error)", file: file, line: line)
            return []
        }
    }
}
