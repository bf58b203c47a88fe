//! Uploads standard input, of any length, as one file: a pipe goes up a part at a time as it is read (a
//! large file once it passes the threshold), never held whole.
//!
//! ```text
//! pg_dump mydb | B2_APPLICATION_KEY_ID=... B2_APPLICATION_KEY=... cargo run -p stowage-client --example from_stdin -- my-bucket dumps/mydb.sql
//! ```
//! Set `B2_REALM` to a Stowage server's URL to use one instead of B2.

use stowage_client::{B2_REALM, Client, ClientConfig, FileMetadata, UploadOptions};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (Some(bucket_name), Some(file_name)) = (args.next(), args.next()) else {
        return Err("usage: from_stdin BUCKET NAME < data".into());
    };
    let realm = std::env::var("B2_REALM").unwrap_or_else(|_| B2_REALM.to_string());
    let client = Client::new(
        ClientConfig::new(realm, std::env::var("B2_APPLICATION_KEY_ID")?, std::env::var("B2_APPLICATION_KEY")?).with_part_concurrency(4),
    )?;
    let bucket = client.bucket_by_name(&bucket_name).await?.ok_or("no such bucket (or the key may not see it)")?;
    let options = UploadOptions {
        metadata: FileMetadata { content_type: "application/octet-stream".into(), ..Default::default() },
        ..Default::default()
    };
    let stored = client.upload_reader(&bucket.bucket_id, &file_name, tokio::io::stdin(), &options).await?;
    println!("stored {} ({} bytes) as {}", stored.file_name, stored.content_length, stored.file_id);
    Ok(())
}
