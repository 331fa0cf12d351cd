//! Stylesheet, script and icon, embedded in the binary and served under names that carry a hash
//! of their content, so browsers may cache them forever and never see a stale one.

use std::sync::LazyLock;

use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

struct Asset {
    /// `app.<hash>.css`
    name: String,
    body: &'static [u8],
    content_type: &'static str,
}

fn asset(stem: &str, ext: &str, body: &'static [u8], content_type: &'static str) -> Asset {
    let digest = ring::digest::digest(&ring::digest::SHA256, body);
    let hash = service::crypto::hex(&digest.as_ref()[..6]);
    Asset {
        name: format!("{stem}.{hash}.{ext}"),
        body,
        content_type,
    }
}

static ASSETS: LazyLock<[Asset; 3]> = LazyLock::new(|| {
    [
        asset(
            "app",
            "css",
            include_bytes!("../../assets/app.css"),
            "text/css; charset=utf-8",
        ),
        asset(
            "app",
            "js",
            include_bytes!("../../assets/app.js"),
            "text/javascript; charset=utf-8",
        ),
        asset("icon", "svg", include_bytes!("../../assets/icon.svg"), "image/svg+xml"),
    ]
});

/// The URL of the stylesheet.
pub fn css_url() -> String {
    format!("/static/{}", ASSETS[0].name)
}

/// The URL of the script.
pub fn js_url() -> String {
    format!("/static/{}", ASSETS[1].name)
}

/// The URL of the icon.
pub fn icon_url() -> String {
    format!("/static/{}", ASSETS[2].name)
}

pub async fn serve(Path(name): Path<String>) -> Response {
    match ASSETS.iter().find(|a| a.name == name) {
        Some(a) => (
            [
                (header::CONTENT_TYPE, HeaderValue::from_static(a.content_type)),
                (
                    header::CACHE_CONTROL,
                    HeaderValue::from_static("public, max-age=31536000, immutable"),
                ),
            ],
            a.body,
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}
