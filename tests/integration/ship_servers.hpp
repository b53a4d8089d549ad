#pragma once
// Real servers for the publish/download tests, all on 127.0.0.1 with free
// ports, stopped when their object goes away (and killed with the test
// process should it die): the S3 test store (s3rver, see s3_test_server.js),
// Debian's nginx running the configuration of docs/serving.md, and a TCP
// proxy that cuts, stalls or answers connections to stage network faults.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "json/json.hpp"
#include "support/test_support.hpp"

namespace josi::test {

namespace fs = std::filesystem;

// A port nothing listens on right now.
inline int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

inline bool port_open(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}

// Runs a shell command; captures stdout and stderr.
inline RunResult run_shell(const std::string& command) {
  TempDir dir;
  std::string full = command + " >" + (dir / "out").string() + " 2>" + (dir / "err").string() + " </dev/null";
  int status = std::system(full.c_str());
  return {WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status), read_text(dir / "out"),
          read_text(dir / "err")};
}

// A child process (argv[0] found on PATH), its output in `log`.
class Process {
 public:
  Process(std::vector<std::string> argv, const fs::path& log, std::vector<std::string> env = {}) {
    pid_ = ::fork();
    if (pid_ == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlives the test
      int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      ::dup2(fd, 1);
      ::dup2(fd, 2);
      for (auto& e : env) ::putenv(e.data());
      std::vector<char*> args;
      for (auto& a : argv) args.push_back(a.data());
      args.push_back(nullptr);
      ::execvp(args[0], args.data());
      std::fprintf(stderr, "cannot run %s: %s (scripts/test.sh installs it)\n", args[0], std::strerror(errno));
      std::_Exit(127);
    }
  }
  ~Process() { kill(); }
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  bool alive() {
    if (pid_ <= 0) return false;
    if (::waitpid(pid_, nullptr, WNOHANG) == pid_) pid_ = -1;
    return pid_ > 0;
  }
  void kill() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }

 private:
  pid_t pid_ = -1;
};

// Waits until `port` accepts connections; throws with the server's log if it died or never came up.
inline void wait_until_listening(Process& p, int port, const fs::path& log, const std::string& what) {
  for (int i = 0; i < 200; ++i) {
    if (port_open(port)) return;
    if (!p.alive()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  throw std::runtime_error(what + " did not start on port " + std::to_string(port) + ":\n" + read_text(log));
}

// s3rver with SigV4 checks, ACLs and multipart listing (s3_test_server.js).
class S3Store {
 public:
  static constexpr const char* kAccessKey = "JOSITESTACCESSKEY";
  static constexpr const char* kSecretKey = "josi-test-secret-Zq8vN3pL0wKx";

  explicit S3Store(std::string bucket = "mivalta-models") : bucket_(std::move(bucket)) {
    fs::create_directories(dir_ / "data");
    // A free port can be taken by a test running beside this one before the server binds it: try another.
    for (int attempt = 1;; ++attempt) {
      port_ = free_port();
      try {
        start();
        return;
      } catch (const std::runtime_error&) {
        if (attempt == 3) throw;
      }
    }
  }
  void start() {
    if (!fs::exists(npm_dir() / "node_modules" / "s3rver"))
      throw std::runtime_error("s3rver missing under " + npm_dir().string() + ": run scripts/test.sh (it installs the npm test peers)");
    process_ = std::make_unique<Process>(
        std::vector<std::string>{"node", (source_dir() / "tests/integration/s3_test_server.js").string(), "--dir",
                                 (dir_ / "data").string(), "--port", std::to_string(port_), "--access-key", kAccessKey,
                                 "--secret-key", kSecretKey, "--bucket", bucket_, "--log", (dir_ / "requests.log").string()},
        dir_ / "server.log", std::vector<std::string>{"NODE_PATH=" + (npm_dir() / "node_modules").string()});
    wait_until_listening(*process_, port_, dir_ / "server.log", "the S3 test store");
  }
  void kill() { process_->kill(); }

  int port() const { return port_; }
  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }
  const std::string& bucket() const { return bucket_; }
  // Unfinished multipart uploads the store still holds.
  int unfinished_uploads() const {
    fs::path dir = dir_ / "data" / bucket_ / "._S3rver_uploads";
    if (!fs::exists(dir)) return 0;
    int n = 0;
    for ([[maybe_unused]] auto& e : fs::directory_iterator(dir)) ++n;
    return n;
  }
  std::vector<json::Json> requests() const {
    std::vector<json::Json> out;
    std::string text = read_text(dir_ / "requests.log");
    for (size_t at = 0, end; (end = text.find('\n', at)) != std::string::npos; at = end + 1)
      out.push_back(json::Json::parse(text.substr(at, end - at)));
    return out;
  }
  // s3cmd, the reference client, configured for this store.
  RunResult s3cmd(const std::string& args) const {
    fs::path cfg = dir_ / "s3cfg";
    write_text(cfg, "[default]\naccess_key = " + std::string(kAccessKey) + "\nsecret_key = " + kSecretKey +
                        "\nhost_base = 127.0.0.1:" + std::to_string(port_) + "\nhost_bucket = 127.0.0.1:" +
                        std::to_string(port_) + "\nuse_https = False\nsignature_v2 = False\n");
    return run_shell("s3cmd -c " + cfg.string() + " " + args);
  }

 private:
  TempDir dir_;
  std::string bucket_;
  int port_ = 0;
  std::unique_ptr<Process> process_;
};

// The server blocks of docs/serving.md, made local: "listen 80;" gets a free
// port, the document root and the object store's address are replaced.
// Throws when the guide no longer has what is replaced, so the test never
// silently runs some other configuration.
inline std::string guide_server_block(const std::string& marker, const std::vector<std::pair<std::string, std::string>>& replace) {
  std::string guide = read_text(source_dir() / "docs" / "serving.md");
  auto at = guide.find("<!-- " + marker + " -->");
  if (at == std::string::npos) throw std::runtime_error("docs/serving.md has no <!-- " + marker + " --> block");
  auto begin = guide.find("```nginx\n", at);
  auto end = guide.find("```", begin + 9);
  if (begin == std::string::npos || end == std::string::npos) throw std::runtime_error(marker + ": no ```nginx block");
  std::string block = guide.substr(begin + 9, end - begin - 9);
  for (const auto& [from, to] : replace) {
    auto pos = block.find(from);
    if (pos == std::string::npos) throw std::runtime_error(marker + " block of docs/serving.md has no \"" + from + "\"");
    for (; pos != std::string::npos; pos = block.find(from, pos + to.size())) block.replace(pos, from.size(), to);
  }
  return block;
}

// nginx (Debian's) in the foreground, one process, everything under a temp dir.
class Nginx {
 public:
  explicit Nginx(const std::string& server_block_with_port_placeholder) {
    fs::create_directories(dir_ / "tmp");
    for (int attempt = 1;; ++attempt) {  // as for S3Store: a port taken meanwhile means another try
      port_ = free_port();
      try {
        configure(server_block_with_port_placeholder);
        start();
        return;
      } catch (const std::runtime_error&) {
        if (attempt == 3) throw;
      }
    }
  }
  void configure(const std::string& server_block_with_port_placeholder) {
    std::string server = server_block_with_port_placeholder;
    for (size_t pos; (pos = server.find("@PORT@")) != std::string::npos;) server.replace(pos, 6, std::to_string(port_));
    std::string d = dir_.path().string();
    write_text(dir_ / "nginx.conf",
               "daemon off;\nmaster_process off;\npid " + d + "/nginx.pid;\nerror_log " + d + "/error.log info;\n" +
                   (::geteuid() == 0 ? "user root;\n" : "") +
                   "events { worker_connections 64; }\nhttp {\n  default_type application/octet-stream;\n"
                   "  log_format josi '$request_method $request_uri $status $body_bytes_sent \"$http_range\"';\n"
                   "  access_log " + d + "/access.log josi;\n  client_body_temp_path " + d + "/tmp/body;\n"
                   "  proxy_temp_path " + d + "/tmp/proxy;\n  fastcgi_temp_path " + d + "/tmp/fcgi;\n"
                   "  uwsgi_temp_path " + d + "/tmp/uwsgi;\n  scgi_temp_path " + d + "/tmp/scgi;\n" +
                   server + "\n}\n");
  }
  void start() {
    process_ = std::make_unique<Process>(
        std::vector<std::string>{"nginx", "-p", dir_.path().string(), "-c", (dir_ / "nginx.conf").string(), "-e",
                                 (dir_ / "error.log").string()},
        dir_ / "error.log");  // its own output and its error log, in one file
    wait_until_listening(*process_, port_, dir_ / "error.log", "nginx");
  }
  void kill() { process_->kill(); }
  int port() const { return port_; }
  std::string url(const std::string& path = "") const { return "http://127.0.0.1:" + std::to_string(port_) + path; }
  // "METHOD URI STATUS BYTES "RANGE"" per request.
  std::vector<std::string> access_log() const {
    std::vector<std::string> lines;
    std::string text = read_text(dir_ / "access.log");
    for (size_t at = 0, end; (end = text.find('\n', at)) != std::string::npos; at = end + 1)
      lines.push_back(text.substr(at, end - at));
    return lines;
  }

 private:
  TempDir dir_;
  int port_ = 0;
  std::unique_ptr<Process> process_;
};

// Forwards 127.0.0.1:port() to a target port, with faults on demand.
class TcpProxy {
 public:
  struct Faults {
    uint64_t cut_down_after = 0;  // server-to-client bytes after which a connection is cut (0: never)
    uint64_t cut_up_after = 0;    // client-to-server bytes after which a connection is cut (0: never)
    int max_faults = 1;           // how many times a connection is cut (or stalled); -1: every time
    bool stall = false;           // at the threshold, stop forwarding but keep the connection open
    bool refuse_after_fault = false;  // later connections are closed at once
    std::vector<int> answer_statuses = {};  // the first connections get these HTTP statuses instead of the server
    std::function<void()> on_fault = {};    // runs once, at the first cut
  };

  TcpProxy(int target_port, Faults faults) : target_(target_port), faults_(std::move(faults)) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    ::listen(listen_fd_, 16);
    socklen_t len = sizeof addr;
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    acceptor_ = std::thread([this] { accept_loop(); });
  }
  ~TcpProxy() {
    stop_ = true;
    acceptor_.join();
    for (auto& t : connections_) t.join();
    ::close(listen_fd_);
  }
  TcpProxy(const TcpProxy&) = delete;
  TcpProxy& operator=(const TcpProxy&) = delete;

  int port() const { return port_; }
  std::string url(const std::string& path = "") const { return "http://127.0.0.1:" + std::to_string(port_) + path; }
  int faults() const { return faults_done_; }
  int connections() const { return accepted_; }

 private:
  void accept_loop() {
    while (!stop_) {
      pollfd p{listen_fd_, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      int client = ::accept(listen_fd_, nullptr, nullptr);
      if (client < 0) continue;
      int index = accepted_++;
      if (faults_.refuse_after_fault && faults_done_ > 0) {
        ::close(client);
        continue;
      }
      connections_.emplace_back([this, client, index] { serve(client, index); });
    }
  }

  // Reads one request (headers and Content-Length body) and answers it with `status`.
  static void answer(int client, int status) {
    std::string request;
    char buf[65536];
    size_t body = 0, header_end = std::string::npos;
    while (header_end == std::string::npos || request.size() < header_end + 4 + body) {
      pollfd p{client, POLLIN, 0};
      if (::poll(&p, 1, 2000) <= 0) break;
      ssize_t n = ::recv(client, buf, sizeof buf, 0);
      if (n <= 0) break;
      request.append(buf, static_cast<size_t>(n));
      if (header_end == std::string::npos && (header_end = request.find("\r\n\r\n")) != std::string::npos) {
        std::string lower = request.substr(0, header_end);
        for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        auto cl = lower.find("content-length:");
        if (cl != std::string::npos) body = std::strtoull(lower.c_str() + cl + 15, nullptr, 10);
      }
    }
    std::string reply = "HTTP/1.1 " + std::to_string(status) + " Injected\r\nContent-Length: 0\r\nRetry-After: 0\r\n"
                        "Connection: close\r\n\r\n";
    ::send(client, reply.data(), reply.size(), MSG_NOSIGNAL);
    ::close(client);
  }

  void serve(int client, int index) {
    if (index < static_cast<int>(faults_.answer_statuses.size())) return answer(client, faults_.answer_statuses[index]);
    int server = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(target_));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(server, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      ::close(server);
      ::close(client);
      return;
    }
    uint64_t up = 0, down = 0;
    bool stalled = false;
    char buf[65536];
    while (!stop_) {
      pollfd p[2] = {{client, POLLIN, 0}, {server, stalled ? short(0) : short(POLLIN), 0}};
      if (::poll(p, 2, 50) <= 0) continue;
      if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
        ssize_t n = ::recv(client, buf, sizeof buf, 0);
        if (n <= 0) break;
        if (!stalled && !relay(server, buf, n, up, faults_.cut_up_after, stalled)) break;
      }
      if (!stalled && (p[1].revents & (POLLIN | POLLHUP | POLLERR))) {
        ssize_t n = ::recv(server, buf, sizeof buf, 0);
        if (n <= 0) break;
        if (!relay(client, buf, n, down, faults_.cut_down_after, stalled)) break;
      }
    }
    // A cut is abrupt (RST), as when a server dies.
    linger hard{1, 0};
    ::setsockopt(client, SOL_SOCKET, SO_LINGER, &hard, sizeof hard);
    ::close(client);
    ::close(server);
  }

  // A connection crossing its threshold gets the fault while faults are left.
  bool claim_fault() {
    std::lock_guard lock(mutex_);
    if (faults_.max_faults >= 0 && faults_done_ >= faults_.max_faults) return false;
    ++faults_done_;
    return true;
  }

  // Forwards up to the fault threshold; false when the connection is to be cut.
  bool relay(int to, const char* buf, ssize_t n, uint64_t& count, uint64_t limit, bool& stalled) {
    size_t send_n = static_cast<size_t>(n);
    bool fault = limit && count + send_n >= limit && count < limit && claim_fault();
    if (fault) send_n = static_cast<size_t>(limit - count);
    if (send_n && ::send(to, buf, send_n, MSG_NOSIGNAL) < 0) return false;
    count += send_n;
    if (!fault) return true;
    if (faults_done_ == 1) {
      std::call_once(on_fault_once_, [this] {
        if (faults_.on_fault) faults_.on_fault();
      });
    }
    if (faults_.stall) {
      stalled = true;
      return true;
    }
    return false;
  }

  int target_;
  Faults faults_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> accepted_{0};
  std::atomic<int> faults_done_{0};
  std::mutex mutex_;
  std::once_flag on_fault_once_;
  std::thread acceptor_;
  std::vector<std::thread> connections_;
};

}  // namespace josi::test
