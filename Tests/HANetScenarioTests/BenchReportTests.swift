import XCTest

/// The benchmark's report judges every goal on the metric the goal names
/// (tools/test_bench_report.py, on synthetic results where the metrics disagree).
final class BenchReportTests: XCTestCase {
    func testEveryGoalIsJudgedOnTheMetricItNames() throws {
        let r = try sh("python3 tools/test_bench_report.py 2>&1", check: false)
        XCTAssertEqual(r.status, 0, r.out)
        XCTAssertTrue(r.out.contains("OK"), r.out)
    }

    /// The A/B comparison's table (tools/test_bench_ab.py): medians over all samples, B over A, per-round ratios.
    func testTheABComparisonTableSetsBBesideA() throws {
        let r = try sh("python3 tools/test_bench_ab.py 2>&1", check: false)
        XCTAssertEqual(r.status, 0, r.out)
        XCTAssertTrue(r.out.contains("OK"), r.out)
    }
}
