/// ISO 8601 UTC timestamps with milliseconds ("2026-11-26T14:26:12.720Z"),
/// computed with civil-calendar arithmetic. Foundation's date formatters
/// load ICU's locale data, which costs the daemon several megabytes of
/// resident memory for a format that never changes.
public enum UTCTimestamp {
    /// `secondsSince1970` as `Date.timeIntervalSince1970` gives it, to the nearest millisecond.
    public static func iso8601(secondsSince1970 t: Double) -> String {
        let totalMillis = Int64((t * 1000).rounded())
        var days = totalMillis / 86_400_000
        var millisOfDay = totalMillis % 86_400_000
        if millisOfDay < 0 { millisOfDay += 86_400_000; days -= 1 }
        let (y, m, d) = civil(fromDays: days)
        let h = millisOfDay / 3_600_000
        let min = millisOfDay / 60_000 % 60
        let s = millisOfDay / 1000 % 60
        let ms = millisOfDay % 1000
        return "\(pad(y, 4))-\(pad(m, 2))-\(pad(d, 2))T\(pad(h, 2)):\(pad(min, 2)):\(pad(s, 2)).\(pad(ms, 3))Z"
    }

    /// Howard Hinnant's days-to-civil algorithm (proleptic Gregorian calendar).
    static func civil(fromDays z0: Int64) -> (Int64, Int64, Int64) {
        let z = z0 + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
    }

    static func pad(_ v: Int64, _ width: Int) -> String {
        let s = String(v)
        return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
    }

    /// "1.235" for (1.2346, 3): fixed-point text without Foundation's formatters.
    public static func fixed(_ x: Double, _ decimals: Int) -> String {
        var scale = 1.0
        for _ in 0..<decimals { scale *= 10 }
        let negative = x < 0
        let v = (abs(x) * scale).rounded()
        let whole = Int64(v / scale)
        let frac = Int64(v - Double(whole) * scale)
        let text = decimals == 0 ? String(whole) : "\(whole).\(pad(frac, decimals))"
        return negative && v != 0 ? "-" + text : text
    }
}
