//! API tokens on the profile page: create one (its secret is shown once, only its hash is
//! stored), see them (name, created, last used), revoke one. The section is its own partial
//! (`_api_tokens.html`) so the profile page includes it with one line.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use axum::{Router, routing::post};
use store::ApiToken;

use crate::http::context::Ctx;
use crate::http::error::AppResult;
use crate::http::forms::FieldErrors;
use crate::http::page::html_status;
use crate::http::state::AppState;
use crate::pages::profile::profile_page;
use crate::pages::sessions::body;
use service::tokens;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/profile/tokens", post(create))
        .route("/profile/tokens/{id}/revoke", post(revoke))
}

/// What the profile page's token section shows.
#[derive(Debug, Clone, Default)]
pub struct ApiTokensSection {
    /// The account's live tokens, newest first.
    pub tokens: Vec<ApiToken>,
    /// A token just created: its secret, shown this once.
    pub created: Option<String>,
    pub name: String,
    pub errors: FieldErrors,
}

impl ApiTokensSection {
    pub async fn load(app: &AppState, ctx: &Ctx) -> Result<ApiTokensSection, crate::http::error::AppError> {
        Ok(ApiTokensSection {
            tokens: tokens::list(app.service(), &ctx.caller()?).await?,
            ..Default::default()
        })
    }
}

async fn create(State(app): State<AppState>, ctx: Ctx, bytes: Bytes) -> AppResult {
    let user = ctx.require_user()?;
    let name = body(&bytes).get("name");
    let (section, status) = match tokens::create(app.service(), &ctx.caller()?, user, &name).await {
        Ok(token) => {
            let mut section = ApiTokensSection::load(&app, &ctx).await?;
            section.created = Some(token);
            (section, StatusCode::CREATED)
        }
        Err(e) if !e.problems().is_empty() => {
            let mut section = ApiTokensSection::load(&app, &ctx).await?;
            let status = section.errors.record(&e, ctx.locale, &user.time_zone, |f| f);
            section.name = name;
            (section, status)
        }
        Err(e) => return Err(e.into()),
    };
    // Shown in the page itself, never in a URL: the secret appears this once.
    let mut page = profile_page(&app, &ctx, user).await?;
    page.api_tokens = section;
    html_status(status, &page)
}

async fn revoke(State(app): State<AppState>, ctx: Ctx, Path(id): Path<String>) -> AppResult {
    // Another account's token id is unknown here: 404.
    tokens::revoke(app.service(), &ctx.caller()?, &id).await?;
    Ok(Redirect::to("/profile?notice=token_revoked#api-tokens").into_response())
}
