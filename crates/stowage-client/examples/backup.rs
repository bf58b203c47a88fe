//! Uploads a local file to a bucket, lists what is under its folder, and downloads it back with its SHA-1
//! checked.
//!
//! ```text
//! B2_APPLICATION_KEY_ID=... B2_APPLICATION_KEY=... cargo run -p stowage-client --example backup -- my-bucket ./db.tar
//! ```
//! Set `B2_REALM` to a Stowage server's URL (`http://127.0.0.1:9000`) to use one instead of B2.

use futures::TryStreamExt;
use stowage_client::{B2_REALM, Client, ClientConfig, UploadOptions};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (Some(bucket_name), Some(path)) = (args.next(), args.next()) else {
        return Err("usage: backup BUCKET FILE".into());
    };
    let realm = std::env::var("B2_REALM").unwrap_or_else(|_| B2_REALM.to_string());
    let config = ClientConfig::new(realm, std::env::var("B2_APPLICATION_KEY_ID")?, std::env::var("B2_APPLICATION_KEY")?);
    let client = Client::new(config)?;

    let bucket = client.bucket_by_name(&bucket_name).await?.ok_or("no such bucket (or the key may not see it)")?;
    let file_name = format!("backups/{}", std::path::Path::new(&path).file_name().and_then(|n| n.to_str()).unwrap_or("file"));
    let options =
        UploadOptions { progress: Some(std::sync::Arc::new(|done, total| eprint!("\r{done} of {total} bytes"))), ..Default::default() };
    let stored = client.upload_file(&bucket.bucket_id, &file_name, path.as_ref(), &options).await?;
    eprintln!();
    println!("stored {} ({} bytes, SHA-1 {})", stored.file_name, stored.content_length, stored.sha1().unwrap_or("unknown"));

    let listed: Vec<_> = client.list_file_names(&bucket.bucket_id, "backups/").try_collect().await?;
    for file in &listed {
        println!("  {:>12}  {}", file.content_length, file.file_name);
    }

    let restored = format!("{path}.restored");
    let bytes = client.download_to_file(&bucket_name, &file_name, restored.as_ref(), None).await?;
    println!("downloaded {bytes} bytes to {restored}, SHA-1 checked");
    Ok(())
}
