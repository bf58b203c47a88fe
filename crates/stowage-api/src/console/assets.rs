//! The console's files, compiled into the binary (plain ES modules: nothing to build, nothing to install).

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

const FILES: &[(&str, &str, &str)] = &[
    ("index.html", "text/html; charset=utf-8", include_str!("assets/index.html")),
    ("style.css", "text/css; charset=utf-8", include_str!("assets/style.css")),
    ("app.js", "text/javascript; charset=utf-8", include_str!("assets/app.js")),
    ("browse.js", "text/javascript; charset=utf-8", include_str!("assets/browse.js")),
    ("session.js", "text/javascript; charset=utf-8", include_str!("assets/session.js")),
    ("fileops.js", "text/javascript; charset=utf-8", include_str!("assets/fileops.js")),
    ("api.js", "text/javascript; charset=utf-8", include_str!("assets/api.js")),
    ("upload.js", "text/javascript; charset=utf-8", include_str!("assets/upload.js")),
    ("ui.js", "text/javascript; charset=utf-8", include_str!("assets/ui.js")),
    ("sha1.js", "text/javascript; charset=utf-8", include_str!("assets/sha1.js")),
    ("favicon.svg", "image/svg+xml", include_str!("assets/favicon.svg")),
];

pub fn serve(name: &str) -> Response {
    match FILES.iter().find(|(file, _, _)| *file == name) {
        Some((_, content_type, body)) => (
            [
                (header::CONTENT_TYPE, *content_type),
                // Assets change with the binary; revalidating keeps an upgraded server's console current.
                (header::CACHE_CONTROL, "no-cache"),
                (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
                (header::X_FRAME_OPTIONS, "DENY"),
            ],
            *body,
        )
            .into_response(),
        None => (StatusCode::NOT_FOUND, "not found").into_response(),
    }
}
