//! The page that explains a failed request, in the person's language, with the right status.

use askama::Template;
use axum::response::{IntoResponse, Response};

use crate::http::context::Ctx;
use crate::http::error::AppError;
use crate::http::page::Page;
use crate::http::state::AppState;

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    page: Page,
    message: String,
    back: &'static str,
}

pub fn render(app: &AppState, ctx: &Ctx, error: &AppError) -> Response {
    let problem = error.problem(app.now());
    let status = problem.status;
    let title_key = match status.as_u16() {
        404 => "error.title.404",
        403 => "error.title.403",
        429 => "error.title.429",
        500..=599 => "error.title.500",
        _ => "error.title.400",
    };
    let page = Page::new(ctx, title_key, &app.config().default_time_zone);
    let template = ErrorPage {
        message: problem.message.render_in(ctx.locale, &page.time_zone),
        back: if ctx.user().is_some() { "/" } else { "/login" },
        page,
    };
    match template.render() {
        Ok(body) => (status, axum::response::Html(body)).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "error page failed to render");
            (status, status.canonical_reason().unwrap_or("error")).into_response()
        }
    }
}
