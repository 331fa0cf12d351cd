//! API tokens on the profile page: create one (its secret is shown once, only its hash is
//! stored), see them (name, created, last used), revoke one. The section is its own partial
//! (`_api_tokens.html`) so the profile page includes it with one line.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use axum::{Router, routing::post};
use store::ApiToken;

use crate::context::Ctx;
use crate::error::{AppResult, Message};
use crate::forms::FieldErrors;
use crate::page::html_status;
use crate::pages::profile::profile_page;
use crate::pages::sessions::body;
use crate::state::AppState;
use service::crypto::{random_token, storage_hash};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/profile/tokens", post(create))
        .route("/profile/tokens/{id}/revoke", post(revoke))
}

/// Longest token name.
pub const MAX_NAME_CHARS: usize = 100;

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
    pub async fn load(app: &AppState, user_id: &str) -> Result<ApiTokensSection, crate::error::AppError> {
        let tokens = app
            .store()
            .api_tokens(user_id)
            .await?
            .into_iter()
            .filter(|t| !t.revoked)
            .collect();
        Ok(ApiTokensSection {
            tokens,
            ..Default::default()
        })
    }
}

/// A token's name: trimmed, 1 to 100 characters without control characters.
pub fn parse_name(input: &str) -> Result<String, Message> {
    let name = input.trim();
    if name.is_empty() {
        return Err(Message::new("token.error.name_empty"));
    }
    if name.chars().count() > MAX_NAME_CHARS || name.chars().any(char::is_control) {
        return Err(Message::new("token.error.name_invalid").arg("max", MAX_NAME_CHARS));
    }
    Ok(name.to_owned())
}

async fn create(State(app): State<AppState>, ctx: Ctx, bytes: Bytes) -> AppResult {
    let user = ctx.require_user()?;
    let name = body(&bytes).get("name");
    let mut section = ApiTokensSection::load(&app, &user.id).await?;
    let status = match parse_name(&name) {
        Ok(name) => {
            let token = random_token();
            app.store()
                .create_api_token(
                    &user.id,
                    &name,
                    &storage_hash(&token),
                    app.now(),
                    &ctx.audit("api_token.create"),
                )
                .await?;
            section = ApiTokensSection::load(&app, &user.id).await?;
            section.created = Some(token);
            StatusCode::CREATED
        }
        Err(message) => {
            section.errors.add("token_name", message.render(ctx.locale));
            section.name = name;
            StatusCode::UNPROCESSABLE_ENTITY
        }
    };
    // Shown in the page itself, never in a URL: the secret appears this once.
    let mut page = profile_page(&app, &ctx, user).await?;
    page.api_tokens = section;
    html_status(status, &page)
}

async fn revoke(State(app): State<AppState>, ctx: Ctx, Path(id): Path<String>) -> AppResult {
    let user = ctx.require_user()?;
    // Another account's token id is unknown here: 404.
    app.store()
        .revoke_api_token(&user.id, &id, app.now(), &ctx.audit("api_token.revoke"))
        .await?;
    Ok(Redirect::to("/profile?notice=token_revoked#api-tokens").into_response())
}
