// AWS Signature Version 4 against the four worked examples of the S3 API
// reference ("Signature Calculations for the Authorization Header"): GET
// object with a range, PUT object with an encoded key and a body, GET bucket
// lifecycle (a query name without value), GET bucket with sorted query
// parameters. Also the digests and the URL encoding the signing builds on.
#include <gtest/gtest.h>

#include "ship/digest.hpp"
#include "ship/s3_client.hpp"
#include "ship/sigv4.hpp"
#include "ship/url.hpp"

using namespace josi::ship;

namespace {

const Credentials kExampleKeys{"AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"};
const char* kDate = "20130524T000000Z";
const char* kHost = "examplebucket.s3.amazonaws.com";

SigningInput example(std::string method, std::string path, HeaderList query, std::string payload_hash,
                     HeaderList extra = {}) {
  SigningInput in{std::move(method), std::move(path), std::move(query), {}, payload_hash};
  in.headers = {{"Host", kHost}, {"x-amz-date", kDate}, {"x-amz-content-sha256", payload_hash}};
  for (auto& h : extra) in.headers.push_back(h);
  return in;
}

std::string signature_of(const std::string& authorization) {
  return authorization.substr(authorization.find("Signature=") + 10);
}

TEST(SigV4, GetObjectWithRange) {
  auto in = example("GET", "/test.txt", {}, std::string(kEmptyPayloadHash), {{"Range", "bytes=0-9"}});
  EXPECT_EQ(canonical_request(in),
            "GET\n/test.txt\n\nhost:examplebucket.s3.amazonaws.com\nrange:bytes=0-9\n"
            "x-amz-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n"
            "x-amz-date:20130524T000000Z\n\nhost;range;x-amz-content-sha256;x-amz-date\n"
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(string_to_sign(canonical_request(in), kDate, "us-east-1"),
            "AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n"
            "7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972");
  EXPECT_EQ(authorization(in, kExampleKeys, "us-east-1", kDate),
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"
            "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,"
            "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
}

TEST(SigV4, PutObjectWithEncodedKeyAndBody) {
  std::string hash = sha256_hex("Welcome to Amazon S3.");
  ASSERT_EQ(hash, "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072");
  auto in = example("PUT", "/" + uri_encode("test$file.text", true), {}, hash,
                    {{"Date", "Fri, 24 May 2013 00:00:00 GMT"}, {"x-amz-storage-class", "REDUCED_REDUNDANCY"}});
  EXPECT_EQ(in.path, "/test%24file.text");
  EXPECT_EQ(sha256_hex(canonical_request(in)), "9e0e90d9c76de8fa5b200d8c849cd5b8dc7a3be3951ddb7f6a76b4158342019d");
  auto auth = authorization(in, kExampleKeys, "us-east-1", kDate);
  EXPECT_NE(auth.find("SignedHeaders=date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class,"), std::string::npos);
  EXPECT_EQ(signature_of(auth), "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd");
}

TEST(SigV4, GetBucketLifecycleQueryWithoutValue) {
  auto in = example("GET", "/", {{"lifecycle", ""}}, std::string(kEmptyPayloadHash));
  EXPECT_EQ(canonical_query(in.query), "lifecycle=");
  EXPECT_EQ(sha256_hex(canonical_request(in)), "9766c798316ff2757b517bc739a67f6213b4ab36dd5da2f94eaebf79c77395ca");
  EXPECT_EQ(signature_of(authorization(in, kExampleKeys, "us-east-1", kDate)),
            "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543");
}

TEST(SigV4, ListObjectsSortsTheQuery) {
  auto in = example("GET", "/", {{"prefix", "J"}, {"max-keys", "2"}}, std::string(kEmptyPayloadHash));
  EXPECT_EQ(canonical_query(in.query), "max-keys=2&prefix=J");
  EXPECT_EQ(signature_of(authorization(in, kExampleKeys, "us-east-1", kDate)),
            "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7");
}

TEST(SigV4, EverySignedInputChangesTheSignature) {
  auto base = example("PUT", "/b/k", {}, sha256_hex("x"));
  auto sig = [&](const SigningInput& in, const Credentials& keys = kExampleKeys, const char* region = "us-east-1") {
    return signature_of(authorization(in, keys, region, kDate));
  };
  std::string reference = sig(base);
  auto other_body = base;
  other_body.payload_hash = sha256_hex("y");
  EXPECT_NE(sig(other_body), reference);
  auto other_path = base;
  other_path.path = "/b/k2";
  EXPECT_NE(sig(other_path), reference);
  auto acl = base;
  acl.headers.emplace_back("x-amz-acl", "public-read");
  EXPECT_NE(sig(acl), reference);
  EXPECT_NE(sig(base, {kExampleKeys.access_key, "another-secret"}), reference);
  EXPECT_NE(sig(base, kExampleKeys, "fsn1"), reference);
  // Header names are case-insensitive and values are trimmed, inner spaces collapsed.
  auto spelled = base;
  spelled.headers = {{"HOST", kHost}, {"X-Amz-Date", std::string("  ") + kDate}, {"x-amz-content-sha256", sha256_hex("x")}};
  EXPECT_EQ(sig(spelled), reference);
}

TEST(SigV4, AmzDateIsCompactUtc) {
  std::string d = amz_date_now();
  ASSERT_EQ(d.size(), 16u);
  EXPECT_EQ(d[8], 'T');
  EXPECT_EQ(d.back(), 'Z');
}

TEST(UriEncode, FollowsRfc3986AsSigV4Wants) {
  EXPECT_EQ(uri_encode("a b+c", false), "a%20b%2Bc");
  EXPECT_EQ(uri_encode("A-z_0.9~", false), "A-z_0.9~");
  EXPECT_EQ(uri_encode("dir/file", true), "dir/file");
  EXPECT_EQ(uri_encode("dir/file", false), "dir%2Ffile");
  EXPECT_EQ(uri_encode("=&?#%", false), "%3D%26%3F%23%25");
  EXPECT_EQ(uri_encode("ключ", false), "%D0%BA%D0%BB%D1%8E%D1%87");
}

TEST(Url, ParsesWhatTheCommandsAccept) {
  auto u = parse_url("https://fsn1.your-objectstorage.com", "--s3-endpoint");
  EXPECT_EQ(u.scheme, "https");
  EXPECT_EQ(u.host, "fsn1.your-objectstorage.com");
  EXPECT_EQ(u.path, "/");
  EXPECT_EQ(u.authority(), "fsn1.your-objectstorage.com");
  auto local = parse_url("http://127.0.0.1:9000/base/", "x");
  EXPECT_EQ(local.authority(), "127.0.0.1:9000");
  EXPECT_EQ(local.path, "/base/");
  EXPECT_EQ(parse_url("HTTP://Example.COM:80/x", "x").authority(), "example.com");
  EXPECT_EQ(parse_url("objects.example.com", "x", true).str(), "https://objects.example.com/");
  EXPECT_EQ(parse_url("file:///srv/models/m.json", "x").path, "/srv/models/m.json");
  EXPECT_EQ(parse_url("http://[::1]:8080/a", "x").authority(), "[::1]:8080");
  for (const char* bad : {"ftp://host/x", "objects.example.com", "http://", "http://host:99999/", "http://user:pw@host/",
                          "http://ho st/", "file://relative/path", "http://host:12a/"}) {
    try {
      parse_url(bad, "--base-url");
      ADD_FAILURE() << bad << " was accepted";
    } catch (const josi::Error& e) {
      EXPECT_NE(std::string(e.what()).find("--base-url"), std::string::npos) << e.what();
      EXPECT_EQ(e.code(), josi::ExitCode::usage);
    }
  }
  EXPECT_EQ(join_url("http://h/models/", "josi v5.gguf"), "http://h/models/josi%20v5.gguf");
  EXPECT_TRUE(is_address_host("127.0.0.1"));
  EXPECT_TRUE(is_address_host("localhost"));
  EXPECT_TRUE(is_address_host("[::1]"));
  EXPECT_FALSE(is_address_host("fsn1.your-objectstorage.com"));
}

TEST(Digest, KnownVectors) {
  EXPECT_EQ(sha256_hex(""), kEmptyPayloadHash);
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(to_hex(md5_raw("")), "d41d8cd98f00b204e9800998ecf8427e");
  // RFC 4231 test case 2.
  EXPECT_EQ(to_hex(hmac_sha256("Jefe", "what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  EXPECT_EQ(base64(""), "");
  EXPECT_EQ(base64("f"), "Zg==");
  EXPECT_EQ(base64("foobar"), "Zm9vYmFy");
  // Incremental hashing equals one-shot hashing, and finish() starts over.
  Digest d;
  d.update("a");
  d.update("bc");
  EXPECT_EQ(d.finish_hex(), sha256_hex("abc"));
  d.update("abc");
  EXPECT_EQ(d.finish_hex(), sha256_hex("abc"));
  EXPECT_TRUE(is_sha256_hex(sha256_hex("x")));
  EXPECT_FALSE(is_sha256_hex("abc"));
  EXPECT_FALSE(is_sha256_hex(std::string(64, 'g')));
}

TEST(Digest, MultipartEtagIsTheMd5OfPartMd5s) {
  // Computed independently (Python hashlib) for parts of 300 'a' and 100 'b'.
  EXPECT_EQ(multipart_etag({md5_raw(std::string(300, 'a')), md5_raw(std::string(100, 'b'))}),
            "d6178286211025f68ceed193d1fa90c2-2");
}

TEST(S3Xml, ReadsTagsAndDecodesEntities) {
  std::string xml = "<Error><Code>NoSuchKey</Code><Message>a &lt;b&gt; &amp; &quot;c&quot;</Message></Error>";
  EXPECT_EQ(xml_text(xml, "Code"), "NoSuchKey");
  EXPECT_EQ(xml_text(xml, "Message"), "a <b> & \"c\"");
  EXPECT_EQ(xml_text(xml, "UploadId"), "");
}

}  // namespace
