//! Thumbnails for the console's grid: `GET /_console/api/thumbnail/<file id>` answers a small JPEG (at most
//! 256 px on its longer side) made from a stored image, read with the signed-in key's rights. A file version
//! never changes, so a thumbnail is kept in memory by file id (up to a byte budget) and may be cached by the
//! browser. Images too large to decode cheaply are refused (404: the grid then shows the file's type).

use std::collections::{HashMap, VecDeque};
use std::io::Cursor;
use std::sync::{Arc, Mutex, OnceLock};

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;

use super::{error, signed_in};
use crate::AppState;
use crate::b2::error::B2Error;

/// Longest side of a thumbnail, in pixels.
const EDGE: u32 = 256;
/// Originals larger than this are not read for a thumbnail.
const MAX_SOURCE_BYTES: u64 = 40 * 1024 * 1024;
/// Decoding stops for images of more pixels than this (a small file may claim a huge canvas).
const MAX_SOURCE_PIXELS: u64 = 50_000_000;
/// Memory kept for made thumbnails, oldest dropped first.
const CACHE_BYTES: usize = 32 * 1024 * 1024;

/// Made thumbnails by file id, with their order of arrival for eviction.
#[derive(Default)]
struct Cache {
    by_id: HashMap<String, Bytes>,
    order: VecDeque<String>,
    bytes: usize,
}

fn cache() -> &'static Mutex<Cache> {
    static CACHE: OnceLock<Mutex<Cache>> = OnceLock::new();
    CACHE.get_or_init(Mutex::default)
}

fn cached(file_id: &str) -> Option<Bytes> {
    cache().lock().ok()?.by_id.get(file_id).cloned()
}

fn remember(file_id: &str, thumbnail: Bytes) {
    let Ok(mut cache) = cache().lock() else { return };
    cache.bytes += thumbnail.len();
    if cache.by_id.insert(file_id.to_string(), thumbnail).is_none() {
        cache.order.push_back(file_id.to_string());
    }
    while cache.bytes > CACHE_BYTES {
        let Some(oldest) = cache.order.pop_front() else { break };
        if let Some(dropped) = cache.by_id.remove(&oldest) {
            cache.bytes -= dropped.len();
        }
    }
}

pub async fn thumbnail(State(state): State<Arc<AppState>>, Path(file_id): Path<String>, headers: HeaderMap) -> Response {
    let principal = match signed_in(&state, &headers).await {
        Ok(p) => p,
        Err(refusal) => return *refusal,
    };
    let cached = cached(&file_id);
    // Opening the file decides access, before any cached bytes are served; its body is read only to make a
    // thumbnail not made yet.
    let download = match state.core.download_by_id(Some(&principal), &file_id, None, None, cached.is_none()).await {
        Ok(d) => d,
        Err(e) => return B2Error::from(e).into_response(),
    };
    let made = match cached {
        Some(bytes) => bytes,
        None => {
            if download.version.size > MAX_SOURCE_BYTES {
                return error(StatusCode::NOT_FOUND, "not_found", "the image is too large for a thumbnail");
            }
            let original = match read_all(download).await {
                Ok(bytes) => bytes,
                Err(response) => return *response,
            };
            let Ok(Some(made)) = tokio::task::spawn_blocking(move || shrink(&original)).await else {
                return error(StatusCode::NOT_FOUND, "not_found", "no thumbnail can be made of this file");
            };
            remember(&file_id, made.clone());
            made
        }
    };
    let mut response = made.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("image/jpeg"));
    // Keyed by file id, a thumbnail never changes; it stays private to this browser.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, max-age=86400, immutable"));
    response
}

async fn read_all(download: stowage_core::service::Download) -> Result<Vec<u8>, Box<Response>> {
    let mut bytes = Vec::with_capacity(usize::try_from(download.version.size).unwrap_or(0));
    let mut body = download.body;
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| Box::new(error(StatusCode::INTERNAL_SERVER_ERROR, "internal_error", &e.to_string())))?;
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}

/// A JPEG of at most `EDGE` pixels on its longer side, or `None` for what is not a decodable image.
fn shrink(original: &[u8]) -> Option<Bytes> {
    // Reading the dimensions consumes a reader: one for them, one for the pixels.
    let reader = || {
        let mut reader = image::ImageReader::new(Cursor::new(original)).with_guessed_format().ok()?;
        let mut limits = image::Limits::default();
        limits.max_alloc = Some(MAX_SOURCE_PIXELS * 4);
        reader.limits(limits);
        Some(reader)
    };
    let (width, height) = reader()?.into_dimensions().ok()?;
    if u64::from(width) * u64::from(height) > MAX_SOURCE_PIXELS {
        return None;
    }
    let decoded = reader()?.decode().ok()?;
    // Never enlarged: a small image is only re-encoded.
    let small = if width <= EDGE && height <= EDGE { decoded } else { decoded.thumbnail(EDGE, EDGE) }.into_rgb8();
    let mut out = Cursor::new(Vec::new());
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 80).encode_image(&small).ok()?;
    Some(Bytes::from(out.into_inner()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shrinks_an_image_and_refuses_what_is_not_one() {
        // Noise, as a photo's detail is: a PNG of it is large.
        let noise = |x: u32, y: u32, k: u32| (x.wrapping_mul(2_654_435_761) ^ y.wrapping_mul(40_503) ^ k).wrapping_mul(2_246_822_519) >> 24;
        let big =
            image::RgbImage::from_fn(1200, 800, |x, y| image::Rgb([noise(x, y, 1) as u8, noise(x, y, 2) as u8, noise(x, y, 3) as u8]));
        let mut png = Cursor::new(Vec::new());
        big.write_to(&mut png, image::ImageFormat::Png).expect("png");
        let thumb = shrink(png.get_ref()).expect("a thumbnail");
        let decoded = image::load_from_memory(&thumb).expect("a jpeg");
        assert_eq!((decoded.width(), decoded.height()), (256, 171));
        assert!(thumb.len() * 10 < png.get_ref().len(), "{} vs {}", thumb.len(), png.get_ref().len());
        assert!(shrink(b"not an image at all").is_none());
        let tiny = image::RgbImage::from_pixel(2, 2, image::Rgb([1, 2, 3]));
        let mut png = Cursor::new(Vec::new());
        tiny.write_to(&mut png, image::ImageFormat::Png).expect("png");
        let kept = image::load_from_memory(&shrink(png.get_ref()).expect("a thumbnail")).expect("a jpeg");
        assert_eq!((kept.width(), kept.height()), (2, 2), "never enlarged");
    }
}
