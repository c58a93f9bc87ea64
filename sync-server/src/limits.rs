//! Rate limits on the sync endpoint and on sign-in, per source address and
//! per credential (governor's keyed GCRA limiters): past its allowance a
//! client gets `429 Too Many Requests` with `Retry-After` (whole seconds),
//! and nothing is done for it.
//!
//! - `POST /v1/sync`: per source address (checked before the token is even
//!   looked up, so guessing tokens is throttled too) and per token (keyed by
//!   a hash of the token, never the token).
//! - `POST /login`: per source address and per user name.
//!
//! Defaults suit phones behind a carrier NAT sharing one address: see
//! [`RateArgs`]. `0` switches one limit off; `--no-rate-limits` all of them
//! (for load generators on one machine). Keys idle for a while are dropped
//! every minute ([`RateLimits::forget_idle`]), so the tables stay small.

use crate::error::Error;
use clap::Args;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use std::hash::Hash;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;

/// `serve` flags for the rate limits (requests per minute; 0 = no limit).
#[derive(Clone, Debug, Args)]
pub struct RateArgs {
    /// 每个令牌每分钟同步次数上限 / sync requests per minute per device token (0 = no limit)
    #[arg(long, value_name = "N", default_value_t = 300)]
    pub sync_rate_per_token: u32,
    /// 每个来源地址每分钟同步次数上限 / sync requests per minute per source address (0 = no limit)
    #[arg(long, value_name = "N", default_value_t = 3000)]
    pub sync_rate_per_address: u32,
    /// 每个来源地址每分钟登录次数上限 / sign-in attempts per minute per source address (0 = no limit)
    #[arg(long, value_name = "N", default_value_t = 120)]
    pub sign_in_rate_per_address: u32,
    /// 每个用户每分钟登录次数上限 / sign-in attempts per minute per user name (0 = no limit)
    #[arg(long, value_name = "N", default_value_t = 60)]
    pub sign_in_rate_per_user: u32,
    /// 每个居民邀请链接每小时提交诉求次数上限 / resident requests per hour per invitation link (0 = no limit)
    #[arg(long, value_name = "N", default_value_t = 30)]
    pub resident_requests_per_link_hour: u32,
    /// 每个来源地址每小时提交居民诉求次数上限 / resident requests per hour per source address (0 = no limit)
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub resident_requests_per_address_hour: u32,
    /// 关闭全部限流（仅用于压测）/ switch every rate limit off (load tests only)
    #[arg(long)]
    pub no_rate_limits: bool,
}

impl Default for RateArgs {
    fn default() -> Self {
        RateArgs {
            sync_rate_per_token: 300,
            sync_rate_per_address: 3000,
            sign_in_rate_per_address: 120,
            sign_in_rate_per_user: 60,
            resident_requests_per_link_hour: 30,
            resident_requests_per_address_hour: 10,
            no_rate_limits: false,
        }
    }
}

/// One keyed limit: a GCRA limiter over `K`, or none.
struct Limit<K: Hash + Eq + Clone> {
    limiter: Option<DefaultKeyedRateLimiter<K>>,
}

impl<K: Hash + Eq + Clone> Limit<K> {
    /// `per_minute` requests a minute with a burst of a fifth of a minute's
    /// worth (at least 5); `None` when 0 or when `off`.
    fn new(per_minute: u32, off: bool) -> Self {
        let limiter = NonZeroU32::new(per_minute).filter(|_| !off).map(|rate| {
            let burst = NonZeroU32::new((rate.get() / 5).max(5)).expect("at least 5");
            RateLimiter::keyed(Quota::per_minute(rate).allow_burst(burst))
        });
        Limit { limiter }
    }

    /// `per_hour` requests an hour, of which a third (at least 1) may come
    /// at once; `None` when 0 or when `off`.
    fn hourly(per_hour: u32, off: bool) -> Self {
        let limiter = NonZeroU32::new(per_hour).filter(|_| !off).map(|rate| {
            let burst = NonZeroU32::new((rate.get() / 3).max(1)).expect("at least 1");
            RateLimiter::keyed(Quota::per_hour(rate).allow_burst(burst))
        });
        Limit { limiter }
    }

    /// Count one request for `key`; past the allowance, 429 with the wait.
    fn check(&self, key: &K) -> Result<(), Error> {
        let Some(limiter) = &self.limiter else {
            return Ok(());
        };
        limiter.check_key(key).map_err(|not_until| {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            Error::TooManyRequests {
                retry_after_secs: wait.as_secs() + 1,
            }
        })
    }

    fn forget_idle(&self) {
        if let Some(limiter) = &self.limiter {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
    }
}

/// Every rate limit of the server (shared by all handlers).
pub struct RateLimits {
    sync_by_address: Limit<IpAddr>,
    sync_by_token: Limit<[u8; 16]>,
    sign_in_by_address: Limit<IpAddr>,
    sign_in_by_user: Limit<String>,
    resident_by_link: Limit<String>,
    resident_by_address: Limit<IpAddr>,
}

impl Default for RateLimits {
    fn default() -> Self {
        RateLimits::new(&RateArgs::default())
    }
}

/// The block `address` counts as for residents: an IPv4 address itself, an
/// IPv6 address its /64 (one household's or phone's network).
pub fn address_block(address: IpAddr) -> IpAddr {
    // An IPv4 client of a dual-stack listener arrives as ::ffff:a.b.c.d.
    match address.to_canonical() {
        IpAddr::V6(v6) => {
            let bits = u128::from(v6) & !((1u128 << 64) - 1);
            IpAddr::V6(std::net::Ipv6Addr::from(bits))
        }
        v4 => v4,
    }
}

impl RateLimits {
    /// The limits `args` ask for.
    pub fn new(args: &RateArgs) -> RateLimits {
        let off = args.no_rate_limits;
        RateLimits {
            sync_by_address: Limit::new(args.sync_rate_per_address, off),
            sync_by_token: Limit::new(args.sync_rate_per_token, off),
            sign_in_by_address: Limit::new(args.sign_in_rate_per_address, off),
            sign_in_by_user: Limit::new(args.sign_in_rate_per_user, off),
            resident_by_link: Limit::hourly(args.resident_requests_per_link_hour, off),
            resident_by_address: Limit::hourly(args.resident_requests_per_address_hour, off),
        }
    }

    /// No limits at all.
    pub fn off() -> RateLimits {
        RateLimits::new(&RateArgs {
            no_rate_limits: true,
            ..RateArgs::default()
        })
    }

    /// Count a sync request from `address` (before authentication).
    pub fn sync_from(&self, address: IpAddr) -> Result<(), Error> {
        self.sync_by_address.check(&address)
    }

    /// Count a sync request made with `token` (its hash is the key).
    pub fn sync_with_token(&self, token: &str) -> Result<(), Error> {
        use sha2::Digest;
        let digest = sha2::Sha256::digest(token.as_bytes());
        let mut key = [0u8; 16];
        key.copy_from_slice(&digest[..16]);
        self.sync_by_token.check(&key)
    }

    /// Count a sign-in attempt from `address` for `user`.
    pub fn sign_in(&self, address: IpAddr, user: &str) -> Result<(), Error> {
        self.sign_in_by_address.check(&address)?;
        let user: String = user.trim().to_lowercase().chars().take(64).collect();
        self.sign_in_by_user.check(&user)
    }

    /// Count a resident's submission on the H5 page (a request or a
    /// proposed household change) from `address` through invite `link`:
    /// the address is checked first, so one address cannot use up a
    /// link's allowance for the rest of the group.
    /// An IPv6 address counts by its /64 (one household's or phone's
    /// network), so hopping addresses inside it does not multiply the
    /// allowance.
    pub fn resident_request(&self, address: IpAddr, link: &str) -> Result<(), Error> {
        self.resident_by_address.check(&address_block(address))?;
        self.resident_by_link.check(&link.to_string())
    }

    /// Drop the state of keys whose allowance is full again.
    pub fn forget_idle(&self) {
        self.sync_by_address.forget_idle();
        self.sync_by_token.forget_idle();
        self.sign_in_by_address.forget_idle();
        self.sign_in_by_user.forget_idle();
        self.resident_by_link.forget_idle();
        self.resident_by_address.forget_idle();
    }

    /// Call [`RateLimits::forget_idle`] every minute while the server runs.
    pub fn spawn_janitor(limits: Arc<RateLimits>) {
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(std::time::Duration::from_secs(60));
            loop {
                tick.tick().await;
                limits.forget_idle();
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_is_allowed_then_429_with_a_wait_and_other_keys_are_unaffected() {
        let limits = RateLimits::new(&RateArgs {
            sync_rate_per_token: 60,
            ..RateArgs::default()
        });
        // 60 a minute: a burst of 12, then one a second.
        for _ in 0..12 {
            limits.sync_with_token("token-a").unwrap();
        }
        match limits.sync_with_token("token-a") {
            Err(Error::TooManyRequests { retry_after_secs }) => {
                assert!((1..=2).contains(&retry_after_secs), "{retry_after_secs}")
            }
            other => panic!("expected 429, got {other:?}"),
        }
        limits.sync_with_token("token-b").unwrap();
        limits.forget_idle();
        assert!(limits.sync_with_token("token-a").is_err());
    }

    #[test]
    fn resident_requests_are_limited_per_address_and_per_link() {
        let limits = RateLimits::new(&RateArgs {
            resident_requests_per_address_hour: 9,
            resident_requests_per_link_hour: 30,
            ..RateArgs::default()
        });
        // 9 an hour from one address: 3 at once, then refused for minutes.
        for _ in 0..3 {
            limits
                .resident_request([10, 0, 0, 1].into(), "link-a")
                .unwrap();
        }
        match limits.resident_request([10, 0, 0, 1].into(), "link-b") {
            Err(Error::TooManyRequests { retry_after_secs }) => {
                assert!(retry_after_secs > 60, "{retry_after_secs}")
            }
            other => panic!("expected 429, got {other:?}"),
        }
        // 30 an hour per link: its burst of 10 across addresses, then refused.
        let mut accepted = 3;
        for i in 2..40u8 {
            if limits
                .resident_request([10, 0, 0, i].into(), "link-a")
                .is_ok()
            {
                accepted += 1;
            }
        }
        assert_eq!(accepted, 10);
        limits
            .resident_request([10, 0, 0, 99].into(), "link-c")
            .unwrap();
    }

    #[test]
    fn sign_in_is_limited_per_user_across_addresses_and_per_address() {
        let limits = RateLimits::new(&RateArgs {
            sign_in_rate_per_user: 10,
            sign_in_rate_per_address: 1000,
            ..RateArgs::default()
        });
        let mut allowed = 0;
        for i in 0..20u8 {
            if limits
                .sign_in(IpAddr::from([10, 0, 0, i]), "Staff-Demo")
                .is_ok()
            {
                allowed += 1;
            }
        }
        assert_eq!(
            allowed, 5,
            "burst of 5 for 10 a minute, whatever the address"
        );
        assert!(limits.sign_in([10, 0, 1, 1].into(), "someone-else").is_ok());
        let off = RateLimits::off();
        for _ in 0..100 {
            off.sign_in([10, 0, 0, 1].into(), "x").unwrap();
        }
    }
}
