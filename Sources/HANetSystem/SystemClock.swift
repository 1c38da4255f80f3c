import CHANetShim
import HANetCore

/// CLOCK_MONOTONIC: never jumps with NTP or date changes, so damping and lease
/// deadlines stay correct across a clock adjustment.
public final class SystemClock: MonotonicClock {
    public init() {}

    public func nowNanos() -> UInt64 { hanet_shim_monotonic_nanos() }
}
