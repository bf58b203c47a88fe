//! The client: one HTTP connection pool, one authorization shared by every task (made on first use, made
//! again once when it expires), B2's retry model around every call, and a typed method per JSON call.

use std::sync::Arc;

use base64::Engine;
use futures::Stream;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use tokio::sync::Mutex;

use crate::config::{CallOptions, ClientConfig, RetryPolicy};
use crate::error::{Error, Result};
use crate::types::*;

/// A B2 Native API client. Cheap to clone: clones share the connection pool and the authorization.
#[derive(Clone)]
pub struct Client {
    pub(crate) inner: Arc<Inner>,
    /// Options every call of this handle adds to the client's own ([`Client::with_options`]).
    pub(crate) options: Arc<CallOptions>,
}

pub(crate) struct Inner {
    pub(crate) http: reqwest::Client,
    pub(crate) config: ClientConfig,
    session: Mutex<Option<Arc<Authorization>>>,
    /// Upload URLs not in use, by bucket id: each concurrent upload takes one and gives it back when it
    /// worked (B2 asks for one URL per thread; a URL that failed is dropped).
    pub(crate) upload_urls: std::sync::Mutex<std::collections::HashMap<String, Vec<UploadTarget>>>,
}

impl Client {
    /// A client for `config`. Nothing is sent until the first call (which authorizes).
    pub fn new(config: ClientConfig) -> Result<Self> {
        let http = reqwest::Client::builder().connect_timeout(config.connect_timeout).build()?;
        let inner = Arc::new(Inner { http, config, session: Mutex::new(None), upload_urls: Default::default() });
        Ok(Client { inner, options: Arc::default() })
    }

    /// The configuration this client was made with.
    pub fn config(&self) -> &ClientConfig {
        &self.inner.config
    }

    /// A handle on the same client (same connections, same authorization) whose every call — typed calls,
    /// listings, uploads, each part and range of a transfer — also takes `options`: a timeout per request,
    /// headers after the client's own (an SSE-C key, a test mode), another retry policy.
    ///
    /// ```no_run
    /// # async fn example(client: stowage_client::Client) -> stowage_client::Result<()> {
    /// use std::time::Duration;
    /// use stowage_client::{CallOptions, RetryPolicy};
    /// let impatient = client.with_options(CallOptions {
    ///     timeout: Some(Duration::from_secs(5)),
    ///     retry: Some(RetryPolicy::none()),
    ///     ..Default::default()
    /// });
    /// let buckets = impatient.list_buckets().await?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn with_options(&self, options: CallOptions) -> Client {
        Client { inner: self.inner.clone(), options: Arc::new(self.options.merged(&options)) }
    }

    /// The retry policy of this handle's calls.
    pub(crate) fn retry_policy(&self) -> RetryPolicy {
        self.options.retry.clone().unwrap_or_else(|| self.inner.config.retry.clone())
    }

    /// Adds the client's headers, then this handle's, and this handle's timeout if it has one.
    pub(crate) fn dress(&self, mut request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        for (name, value) in self.inner.config.headers.iter().chain(&self.options.headers) {
            request = request.header(name, value);
        }
        match self.options.timeout {
            Some(timeout) => request.timeout(timeout),
            None => request,
        }
    }

    /// The current authorization, made now if there is none yet. Concurrent callers share one request.
    pub async fn authorization(&self) -> Result<Arc<Authorization>> {
        let mut session = self.inner.session.lock().await;
        if let Some(auth) = session.as_ref() {
            return Ok(auth.clone());
        }
        let auth = Arc::new(self.authorize_account().await?);
        *session = Some(auth.clone());
        Ok(auth)
    }

    /// Drops `stale` (if it is still the current one) so the next call authorizes again.
    async fn forget_authorization(&self, stale: &Arc<Authorization>) {
        let mut session = self.inner.session.lock().await;
        if session.as_ref().is_some_and(|current| Arc::ptr_eq(current, stale)) {
            *session = None;
        }
    }

    async fn authorize_account(&self) -> Result<Authorization> {
        let config = &self.inner.config;
        let basic = base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", config.key_id, config.key));
        let retry = config.retry.clone();
        let url = format!("{}/b2api/v4/b2_authorize_account", config.realm);
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut request = self.inner.http.get(&url).header("Authorization", format!("Basic {basic}")).timeout(config.call_timeout);
            for (name, value) in &config.headers {
                request = request.header(name, value);
            }
            let outcome = match request.send().await {
                Ok(response) if response.status().is_success() => return response.json().await.map_err(Error::from),
                Ok(response) => Error::from_response(response).await,
                Err(e) => Error::from(e),
            };
            if !outcome.is_retryable() || attempt >= retry.attempts {
                return Err(outcome);
            }
            tokio::time::sleep(retry.delay(attempt, outcome.retry_after())).await;
        }
    }

    /// Runs `attempt` (given the current authorization) under the retry policy: an expired authorization
    /// is made again and the call tried again at once, a retryable failure waits and tries again, anything
    /// else is returned at once. Either way at most the policy's attempts in all.
    pub(crate) async fn with_retries<T, F, Fut>(&self, retry: &RetryPolicy, mut attempt: F) -> Result<T>
    where
        F: FnMut(Arc<Authorization>) -> Fut,
        Fut: std::future::Future<Output = Result<T>>,
    {
        let mut tries = 0;
        loop {
            tries += 1;
            let auth = self.authorization().await?;
            match attempt(auth.clone()).await {
                Ok(value) => return Ok(value),
                Err(e) if e.is_expired_auth() && tries < retry.attempts.max(2) => {
                    self.forget_authorization(&auth).await;
                }
                Err(e) if e.is_retryable() && tries < retry.attempts => {
                    tokio::time::sleep(retry.delay(tries, e.retry_after())).await;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Any JSON call by name, with a JSON body: the typed methods go through here, and it reaches calls a
    /// newer server has that this client does not name yet.
    pub async fn call<T: DeserializeOwned>(&self, name: &str, body: &Value, options: &CallOptions) -> Result<T> {
        let config = &self.inner.config;
        let options = self.options.merged(options);
        let retry = options.retry.clone().unwrap_or_else(|| config.retry.clone());
        let options = &options;
        self.with_retries(&retry, |auth| async move {
            let url = format!("{}/b2api/v4/{name}", auth.api_info.storage_api.api_url.trim_end_matches('/'));
            let mut request = self
                .inner
                .http
                .post(url)
                .header("Authorization", &auth.authorization_token)
                .timeout(options.timeout.unwrap_or(config.call_timeout))
                .json(body);
            for (name, value) in config.headers.iter().chain(&options.headers) {
                request = request.header(name, value);
            }
            let response = request.send().await?;
            if !response.status().is_success() {
                return Err(Error::from_response(response).await);
            }
            let bytes = response.bytes().await?;
            serde_json::from_slice(&bytes).map_err(|e| Error::Decode(format!("{name}: {e}")))
        })
        .await
    }

    async fn json<T: DeserializeOwned>(&self, name: &str, body: Value) -> Result<T> {
        self.call(name, &body, &CallOptions::default()).await
    }

    async fn account_id(&self) -> Result<String> {
        Ok(self.authorization().await?.account_id.clone())
    }

    // ---------------------------------------------------------------- keys

    /// `b2_create_key`: the answer holds the new key's secret (`application_key`), shown only this once.
    pub async fn create_key(&self, key: &NewKey) -> Result<Key> {
        let mut body = serde_json::to_value(key).map_err(|e| Error::Invalid(e.to_string()))?;
        body["accountId"] = json!(self.account_id().await?);
        self.json("b2_create_key", body).await
    }

    /// Deletes a key (`b2_delete_key`); answers what it was.
    pub async fn delete_key(&self, key_id: &str) -> Result<Key> {
        self.json("b2_delete_key", json!({"applicationKeyId": key_id})).await
    }

    /// Every key of the account, a page at a time, as a stream.
    pub fn list_keys(&self) -> impl Stream<Item = Result<Key>> + '_ {
        self.pages(None::<String>, move |start| async move {
            let account = self.account_id().await?;
            let mut body = json!({"accountId": account, "maxKeyCount": 1000});
            if let Some(start) = start {
                body["startApplicationKeyId"] = json!(start);
            }
            let page: KeyPage = self.json("b2_list_keys", body).await?;
            Ok((page.keys, page.next_application_key_id))
        })
    }

    // ---------------------------------------------------------------- buckets

    /// Creates a bucket (`b2_create_bucket`), private unless `settings` says otherwise.
    pub async fn create_bucket(&self, name: &str, settings: &BucketSettings) -> Result<Bucket> {
        let mut body = serde_json::to_value(settings).map_err(|e| Error::Invalid(e.to_string()))?;
        body["accountId"] = json!(self.account_id().await?);
        body["bucketName"] = json!(name);
        if body.get("bucketType").is_none() {
            body["bucketType"] = json!("allPrivate");
        }
        self.json("b2_create_bucket", body).await
    }

    /// Changes a bucket's settings (`b2_update_bucket`); settings left `None` stay as they are.
    pub async fn update_bucket(&self, bucket_id: &str, settings: &BucketSettings) -> Result<Bucket> {
        let mut body = serde_json::to_value(settings).map_err(|e| Error::Invalid(e.to_string()))?;
        body["accountId"] = json!(self.account_id().await?);
        body["bucketId"] = json!(bucket_id);
        self.json("b2_update_bucket", body).await
    }

    /// Deletes an empty bucket (`b2_delete_bucket`).
    pub async fn delete_bucket(&self, bucket_id: &str) -> Result<Bucket> {
        let account = self.account_id().await?;
        self.json("b2_delete_bucket", json!({"accountId": account, "bucketId": bucket_id})).await
    }

    /// The buckets the key may see. A key restricted to buckets lists those.
    pub async fn list_buckets(&self) -> Result<Vec<Bucket>> {
        let auth = self.authorization().await?;
        let account = auth.account_id.clone();
        match auth.api_info.storage_api.allowed.buckets.as_deref() {
            Some(restricted) if !restricted.is_empty() => {
                let mut found = Vec::new();
                for b in restricted {
                    let list: BucketList = self.json("b2_list_buckets", json!({"accountId": account, "bucketId": b.id})).await?;
                    found.extend(list.buckets);
                }
                Ok(found)
            }
            _ => Ok(self.json::<BucketList>("b2_list_buckets", json!({"accountId": account})).await?.buckets),
        }
    }

    /// The bucket named `name`, if the key may see it.
    pub async fn bucket_by_name(&self, name: &str) -> Result<Option<Bucket>> {
        let account = self.account_id().await?;
        let list: BucketList = self.json("b2_list_buckets", json!({"accountId": account, "bucketName": name})).await?;
        Ok(list.buckets.into_iter().find(|b| b.bucket_name == name))
    }

    /// The bucket's event notification rules (`b2_get_bucket_notification_rules`).
    pub async fn get_notification_rules(&self, bucket_id: &str) -> Result<Vec<NotificationRule>> {
        Ok(self
            .json::<NotificationRules>("b2_get_bucket_notification_rules", json!({"bucketId": bucket_id}))
            .await?
            .event_notification_rules)
    }

    /// Replaces the bucket's event notification rules (`b2_set_bucket_notification_rules`).
    pub async fn set_notification_rules(&self, bucket_id: &str, rules: &[NotificationRule]) -> Result<Vec<NotificationRule>> {
        let body = json!({"bucketId": bucket_id, "eventNotificationRules": rules});
        Ok(self.json::<NotificationRules>("b2_set_bucket_notification_rules", body).await?.event_notification_rules)
    }

    // ---------------------------------------------------------------- files

    /// File names (the newest version of each) under `prefix`, as a stream that pages for the caller.
    pub fn list_file_names<'a>(&'a self, bucket_id: &'a str, prefix: &'a str) -> impl Stream<Item = Result<FileVersion>> + 'a {
        self.pages(None::<String>, move |start| async move {
            let mut body = json!({"bucketId": bucket_id, "prefix": prefix, "maxFileCount": 1000});
            if let Some(start) = start {
                body["startFileName"] = json!(start);
            }
            let page: FilePage = self.json("b2_list_file_names", body).await?;
            Ok((page.files, page.next_file_name))
        })
    }

    /// One folder level under `prefix` (which ends with `/`, or is empty for the top): its files, and its
    /// subfolders as entries whose `action` is `folder`, as a stream.
    pub fn list_folder<'a>(&'a self, bucket_id: &'a str, prefix: &'a str) -> impl Stream<Item = Result<FileVersion>> + 'a {
        self.pages(None::<String>, move |start| async move {
            let mut body = json!({"bucketId": bucket_id, "prefix": prefix, "delimiter": "/", "maxFileCount": 1000});
            if let Some(start) = start {
                body["startFileName"] = json!(start);
            }
            let page: FilePage = self.json("b2_list_file_names", body).await?;
            Ok((page.files, page.next_file_name))
        })
    }

    /// Every version under `prefix` (newest first within a name), as a stream that pages for the caller.
    pub fn list_file_versions<'a>(&'a self, bucket_id: &'a str, prefix: &'a str) -> impl Stream<Item = Result<FileVersion>> + 'a {
        self.pages(None::<(String, Option<String>)>, move |start| async move {
            let mut body = json!({"bucketId": bucket_id, "prefix": prefix, "maxFileCount": 1000});
            if let Some((name, id)) = start {
                body["startFileName"] = json!(name);
                if let Some(id) = id {
                    body["startFileId"] = json!(id);
                }
            }
            let page: FilePage = self.json("b2_list_file_versions", body).await?;
            Ok((page.files, page.next_file_name.map(|n| (n, page.next_file_id))))
        })
    }

    /// Unfinished large files under `prefix`, as a stream.
    pub fn list_unfinished_large_files<'a>(&'a self, bucket_id: &'a str, prefix: &'a str) -> impl Stream<Item = Result<FileVersion>> + 'a {
        self.pages(None::<String>, move |start| async move {
            let mut body = json!({"bucketId": bucket_id, "namePrefix": prefix, "maxFileCount": 100});
            if let Some(start) = start {
                body["startFileId"] = json!(start);
            }
            let page: FilePage = self.json("b2_list_unfinished_large_files", body).await?;
            Ok((page.files, page.next_file_id))
        })
    }

    /// The parts of an unfinished large file, as a stream.
    pub fn list_parts<'a>(&'a self, file_id: &'a str) -> impl Stream<Item = Result<Part>> + 'a {
        self.pages(None::<u32>, move |start| async move {
            let body = json!({"fileId": file_id, "startPartNumber": start.unwrap_or(1), "maxPartCount": 1000});
            let page: PartPage = self.json("b2_list_parts", body).await?;
            Ok((page.parts, page.next_part_number))
        })
    }

    /// One version's description (`b2_get_file_info`).
    pub async fn get_file_info(&self, file_id: &str) -> Result<FileVersion> {
        self.json("b2_get_file_info", json!({"fileId": file_id})).await
    }

    /// Hides a name (`b2_hide_file`): a hide marker becomes its newest version; older versions stay.
    pub async fn hide_file(&self, bucket_id: &str, name: &str) -> Result<FileVersion> {
        self.json("b2_hide_file", json!({"bucketId": bucket_id, "fileName": name})).await
    }

    /// Deletes one version for good (`b2_delete_file_version`); `bypass_governance` passes governance-mode retention given `bypassGovernance`.
    pub async fn delete_file_version(&self, name: &str, file_id: &str, bypass_governance: bool) -> Result<()> {
        let body = json!({"fileName": name, "fileId": file_id, "bypassGovernance": bypass_governance});
        self.json::<Value>("b2_delete_file_version", body).await.map(|_| ())
    }

    /// `b2_copy_file`: a copy inside the server (up to 5 GB; [`Client::copy`] copies any size). With
    /// `metadata`, the copy gets it instead of the source's.
    pub async fn copy_file(
        &self,
        source_file_id: &str,
        name: &str,
        destination_bucket_id: Option<&str>,
        metadata: Option<&FileMetadata>,
    ) -> Result<FileVersion> {
        let mut body = json!({"sourceFileId": source_file_id, "fileName": name});
        if let Some(bucket) = destination_bucket_id {
            body["destinationBucketId"] = json!(bucket);
        }
        if let Some(m) = metadata {
            body["metadataDirective"] = json!("REPLACE");
            body["contentType"] = json!(if m.content_type.is_empty() { "b2/x-auto" } else { &m.content_type });
            body["fileInfo"] = json!(m.info);
        }
        self.json("b2_copy_file", body).await
    }

    /// `b2_update_file_retention`: `mode` `governance` or `compliance` until `retain_until` (ms), or `None`
    /// to remove (governance only, with `bypass_governance`).
    pub async fn update_file_retention(
        &self,
        name: &str,
        file_id: &str,
        retention: Option<(&str, i64)>,
        bypass_governance: bool,
    ) -> Result<Value> {
        let retention = match retention {
            Some((mode, until)) => json!({"mode": mode, "retainUntilTimestamp": until}),
            None => json!({"mode": null}),
        };
        let body = json!({"fileName": name, "fileId": file_id, "fileRetention": retention, "bypassGovernance": bypass_governance});
        self.json("b2_update_file_retention", body).await
    }

    /// Turns a version's legal hold on or off (`b2_update_file_legal_hold`).
    pub async fn update_file_legal_hold(&self, name: &str, file_id: &str, on: bool) -> Result<Value> {
        let body = json!({"fileName": name, "fileId": file_id, "legalHold": if on { "on" } else { "off" }});
        self.json("b2_update_file_legal_hold", body).await
    }

    /// A token that lets anyone download files under `prefix` of a private bucket for `seconds`.
    pub async fn get_download_authorization(&self, bucket_id: &str, prefix: &str, seconds: i64) -> Result<DownloadAuthorization> {
        let body = json!({"bucketId": bucket_id, "fileNamePrefix": prefix, "validDurationInSeconds": seconds});
        self.json("b2_get_download_authorization", body).await
    }

    // ---------------------------------------------------------------- large files

    /// Starts a large file (`b2_start_large_file`); its parts go up with [`Client::upload_part`].
    pub async fn start_large_file(&self, bucket_id: &str, name: &str, metadata: &FileMetadata) -> Result<FileVersion> {
        let content_type = if metadata.content_type.is_empty() { "b2/x-auto" } else { &metadata.content_type };
        let body = json!({"bucketId": bucket_id, "fileName": name, "contentType": content_type, "fileInfo": metadata.info});
        self.json("b2_start_large_file", body).await
    }

    /// An upload URL and token for parts of a large file (`b2_get_upload_part_url`); [`Client::upload_part`] pools them for you.
    pub async fn get_upload_part_url(&self, file_id: &str) -> Result<UploadTarget> {
        self.json("b2_get_upload_part_url", json!({"fileId": file_id})).await
    }

    /// An upload URL and token for a bucket (`b2_get_upload_url`); the upload methods pool them for you.
    pub async fn get_upload_url(&self, bucket_id: &str) -> Result<UploadTarget> {
        self.json("b2_get_upload_url", json!({"bucketId": bucket_id})).await
    }

    /// `b2_finish_large_file`: the parts' SHA-1s in part order make the file.
    pub async fn finish_large_file(&self, file_id: &str, part_sha1s: &[String]) -> Result<FileVersion> {
        let finished = self.json("b2_finish_large_file", json!({"fileId": file_id, "partSha1Array": part_sha1s})).await;
        self.drop_part_urls(file_id);
        finished
    }

    /// `b2_cancel_large_file`: the unfinished file and its parts are gone.
    pub async fn cancel_large_file(&self, file_id: &str) -> Result<Value> {
        let canceled = self.json("b2_cancel_large_file", json!({"fileId": file_id})).await;
        self.drop_part_urls(file_id);
        canceled
    }

    /// `b2_copy_part`: bytes `range` (inclusive, as HTTP ranges are) of a file as part `number` of a large file.
    pub async fn copy_part(&self, source_file_id: &str, large_file_id: &str, number: u32, range: (u64, u64)) -> Result<Part> {
        let body = json!({"sourceFileId": source_file_id, "largeFileId": large_file_id, "partNumber": number,
            "range": format!("bytes={}-{}", range.0, range.1)});
        self.json("b2_copy_part", body).await
    }

    /// Pages of `T` from `fetch(cursor)` (items and the next cursor) as one stream.
    fn pages<'a, C, T, F, Fut>(&'a self, first: Option<C>, fetch: F) -> impl Stream<Item = Result<T>> + 'a
    where
        C: 'a,
        T: 'a,
        F: Fn(Option<C>) -> Fut + 'a,
        Fut: std::future::Future<Output = Result<(Vec<T>, Option<C>)>> + 'a,
    {
        use futures::TryStreamExt;
        futures::stream::try_unfold((Some(first), fetch), |(cursor, fetch)| async move {
            let Some(cursor) = cursor else { return Ok::<_, Error>(None) };
            let (items, next) = fetch(cursor).await?;
            Ok(Some((futures::stream::iter(items.into_iter().map(Ok::<T, Error>)), (next.map(Some), fetch))))
        })
        .try_flatten()
    }
}
