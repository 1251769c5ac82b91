//! An answer that went wrong: a status that fits the fault and a one-line
//! message, as JSON.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::cache::Failure;
use crate::engine::Error as EngineError;

/// An answer that went wrong, as JSON `{"error":{"status":..,"message":..}}`.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub(super) status: StatusCode,
    pub(super) message: String,
}

impl ApiError {
    pub(super) fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            message: crate::config::one_line(&message.into()),
        }
    }

    /// 504: the time was up.
    pub(super) fn timeout(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::GATEWAY_TIMEOUT, message)
    }

    /// An engine error's answer.
    pub(super) fn engine(e: &EngineError) -> ApiError {
        ApiError::from_engine(e)
    }

    pub(super) fn bad(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, message)
    }

    /// The status and message for an engine error, by fault: the question
    /// (400), the storage (502), memory (503).
    pub(super) fn from_engine(e: &EngineError) -> ApiError {
        use datafusion::error::DataFusionError as D;
        let message = e.message();
        let status = match e {
            EngineError::Request(_) => StatusCode::BAD_REQUEST,
            EngineError::Source(_) | EngineError::Lake(_) => StatusCode::BAD_GATEWAY,
            EngineError::DataFusion(df) => match df.find_root() {
                D::SQL(..) | D::Plan(_) | D::SchemaError(..) | D::NotImplemented(_) => StatusCode::BAD_REQUEST,
                D::ResourcesExhausted(_) => StatusCode::SERVICE_UNAVAILABLE,
                _ => StatusCode::BAD_GATEWAY,
            },
        };
        ApiError::new(status, message)
    }
}

impl From<Failure> for ApiError {
    fn from(f: Failure) -> ApiError {
        ApiError::new(
            StatusCode::from_u16(f.status).unwrap_or(StatusCode::BAD_GATEWAY),
            f.message,
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({ "error": { "status": self.status.as_u16(), "message": self.message } });
        let mut r = (self.status, body.to_string()).into_response();
        r.headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
        r
    }
}
