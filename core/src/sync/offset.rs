//! The phone's clock offset to the server's time (ADR 12): learnt at each
//! sync from the server's time in the response and the local send and
//! receive times, added by the store to a wall clock so records made
//! offline carry the server's time.

/// Server times outside these bounds (UTC ms: 2024-01-01, 2100-01-01) are
/// not believed: a server whose own clock is wrong must not move phones'.
const SANE_SERVER_TIME: std::ops::Range<i64> = 1_704_067_200_000..4_102_444_800_000;

/// Longest round trip (ms) from which an offset is learnt: the server's
/// time is placed at its midpoint, so a long one says little.
const MAX_OFFSET_ROUND_TRIP_MS: i64 = 60_000;

/// The offset to add to this device's wall clock to get the server's time,
/// from the server's time and the local send and receive times; `None`
/// when the server sent none, its time is not believable, or the round trip
/// was too long to place it. Not bounded otherwise: a phone whose clock was
/// reset to 1970 is exactly the one that needs it.
pub(crate) fn clock_offset(
    server_time: i64,
    sent_at: crate::model::Timestamp,
    received_at: crate::model::Timestamp,
) -> Option<i64> {
    let round_trip = received_at.0.checked_sub(sent_at.0)?;
    if !SANE_SERVER_TIME.contains(&server_time)
        || !(0..=MAX_OFFSET_ROUND_TRIP_MS).contains(&round_trip)
    {
        return None;
    }
    server_time.checked_sub(sent_at.0.checked_add(round_trip / 2)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_clock_offset_is_learnt_only_from_a_believable_server_time() {
        use crate::model::Timestamp;
        let now = 1_780_000_000_000;
        let (sent, received) = (Timestamp(now), Timestamp(now + 200));
        // A phone two hours slow learns +2 h.
        assert_eq!(
            clock_offset(now + 7_200_100, sent, received),
            Some(7_200_000)
        );
        // One reset to 1970 learns the whole gap.
        assert_eq!(
            clock_offset(now, Timestamp(0), Timestamp(200)),
            Some(now - 100)
        );
        // A server in 2009, at the end of time, or none at all: nothing.
        assert_eq!(clock_offset(1_230_000_000_000, sent, received), None);
        assert_eq!(clock_offset(i64::MAX, sent, received), None);
        assert_eq!(clock_offset(0, sent, received), None);
        // A round trip of minutes places the server's time too loosely.
        assert_eq!(clock_offset(now, sent, Timestamp(now + 5 * 60_000)), None);
        assert_eq!(clock_offset(now, received, sent), None);
    }
}
