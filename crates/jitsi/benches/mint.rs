//! Token minting speed: `CARGO_TARGET_DIR=/work/target-jitsi cargo bench -p jitsi`.
//!
//! For each mode, runs several batches of many mints and prints the median
//! nanoseconds per token (plus the fastest and slowest batch). No assertions: the
//! figures are for BENCHMARKS.md.

use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::Instant;

use jitsi::{HmacSecret, SigningKey, TokenMode, TokenRequest, UserInfo, mint};

const PKCS8: &str = include_str!("../tests/fixtures/test-only-rsa-2048-pkcs8.pem");
const BATCHES: usize = 9;

fn main() {
    let features = BTreeMap::from([
        ("recording".to_owned(), false),
        ("livestreaming".to_owned(), false),
        ("transcription".to_owned(), true),
        ("file-upload".to_owned(), true),
    ]);
    let request = TokenRequest {
        room: "formation-rust-2026-03-12-a1b2c3",
        domain: "meet.example.org",
        tenant: None,
        user: UserInfo {
            id: "0b7f6d5e-2c1a-4e8b-9f3d-1a2b3c4d5e6f",
            name: "Zoé Durand",
            email: "zoe.durand@example.org",
            avatar: Some("https://dialogue.example.org/avatars/0b7f6d5e.png"),
            moderator: true,
        },
        features: &features,
        lobby_bypass: true,
        now: 1_773_306_000,
        expires_at: 1_773_313_200,
    };
    let key = SigningKey::from_pem(PKCS8).expect("fixture key");
    let modes = [
        (
            "HS256",
            TokenMode::Hs256 {
                app_id: "dialogue".into(),
                secret: HmacSecret::new("bench-secret-of-at-least-32-bytes!!").expect("secret"),
            },
            20_000,
        ),
        (
            "RS256 (2048-bit)",
            TokenMode::Rs256 {
                app_id: "dialogue".into(),
                key_id: "dialogue-2026".into(),
                key: key.clone(),
            },
            200,
        ),
        (
            "JaaS (RS256 2048-bit)",
            TokenMode::Jaas {
                app_id: "0123456789abcdef0123456789abcdef".into(),
                key_id: "4f4910".into(),
                key,
            },
            200,
        ),
    ];
    println!("jitsi token minting, {BATCHES} batches per mode, ns per token");
    for (name, mode, per_batch) in &modes {
        // Warm-up.
        for _ in 0..per_batch / 10 + 1 {
            black_box(mint(black_box(mode), black_box(&request)).expect("mint"));
        }
        let mut per_token: Vec<f64> = (0..BATCHES)
            .map(|_| {
                let start = Instant::now();
                for _ in 0..*per_batch {
                    black_box(mint(black_box(mode), black_box(&request)).expect("mint"));
                }
                start.elapsed().as_nanos() as f64 / *per_batch as f64
            })
            .collect();
        per_token.sort_by(f64::total_cmp);
        println!(
            "{name:<24} median {:>10.0} ns  (min {:.0}, max {:.0}; {per_batch} tokens x {BATCHES} batches)",
            per_token[BATCHES / 2],
            per_token[0],
            per_token[BATCHES - 1],
        );
    }
}
