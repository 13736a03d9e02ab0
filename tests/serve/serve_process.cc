#include "serve/serve_process.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "support/test_support.h"

namespace takt::test {
namespace {

constexpr const char* kMosquitto = "/usr/sbin/mosquitto";

bool CanConnect(uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
  ::close(fd);
  return ok;
}

pid_t Spawn(const std::vector<std::string>& argv, const std::string& out) {
  const pid_t pid = fork();
  if (pid == 0) {
    const int fd = ::open(out.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    ::dup2(fd, 1);
    ::dup2(fd, 2);
    std::vector<char*> args;
    for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execv(args[0], args.data());
    _exit(127);
  }
  return pid;
}

}  // namespace

uint16_t FreePort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
  socklen_t size = sizeof address;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &size);
  ::close(fd);
  return ntohs(address.sin_port);
}

bool Mosquitto::Installed() { return std::filesystem::exists(kMosquitto); }

Mosquitto::Mosquitto(const std::string& dir) : dir_(dir) {
  // Started as root, mosquitto runs as its own user: it must be able to write its database.
  std::filesystem::permissions(dir_, std::filesystem::perms::all);
  WriteFile(dir_ + "/acl",
            "user takt\ntopic read plant/#\ntopic write mes/#\n\n"
            "user scada\ntopic write plant/#\n\n"
            "user mes\ntopic read mes/#\n");
  std::string passwords;
  for (const char* user : {"takt", "scada", "mes"}) {
    RunCommand("mosquitto_passwd -b " + (passwords.empty() ? std::string("-c ") : "") + dir_ +
               "/passwd " + user + " " + user + "-pw");
    passwords += user;
  }
}

void Mosquitto::EnableTls(const TestCertificates& certificates) {
  tls_ = certificates;
  tls_port_ = FreePort();
  mutual_tls_port_ = FreePort();
}

bool Mosquitto::Start() {
  if (!Installed()) return false;
  if (port_ == 0) port_ = FreePort();
  std::string tls;
  for (const auto& [port, mutual] : {std::pair<uint16_t, bool>{tls_port_, false},
                                     {mutual_tls_port_, true}}) {
    if (port == 0) continue;
    tls += "listener " + std::to_string(port) + " 127.0.0.1\ncafile " + tls_.ca +
           "\ncertfile " + tls_.server_cert + "\nkeyfile " + tls_.server_key +
           "\nrequire_certificate " + (mutual ? "true" : "false") + "\n";
  }
  WriteFile(dir_ + "/mosquitto.conf",
            "listener " + std::to_string(port_) + " 127.0.0.1\n" + tls +
            "allow_anonymous false\npassword_file " + dir_ + "/passwd\nacl_file " + dir_ +
            "/acl\npersistence true\npersistence_location " + dir_ + "/\n"
            "max_queued_messages 0\nmax_inflight_messages 20\nset_tcp_nodelay true\n"
            "log_dest stderr\n");
  pid_ = Spawn({kMosquitto, "-c", dir_ + "/mosquitto.conf"}, dir_ + "/mosquitto.log");
  for (int i = 0; i < 200; ++i) {
    if (CanConnect(port_) && (tls_port_ == 0 || CanConnect(tls_port_)) &&
        (mutual_tls_port_ == 0 || CanConnect(mutual_tls_port_))) {
      return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  return false;
}

void Mosquitto::Stop() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGTERM);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
}

bool TaktServe::Start() {
  const std::string takt = TAKT_BINARY;
  const size_t logged = std::filesystem::exists(log_) ? ReadFile(log_).size() : 0;
  pid_ = Spawn({takt, "serve", "--config", config_}, log_);
  for (int i = 0; i < 400; ++i) {
    const std::string text = ReadFile(log_).substr(logged);
    const size_t at = text.find("http://127.0.0.1:");
    if (at != std::string::npos && text.find(" serving ", at) != std::string::npos) {
      port_ = static_cast<uint16_t>(std::stoi(text.substr(at + 17)));
      return true;
    }
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  return false;
}

void TaktServe::Kill() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
}

int TaktServe::Terminate() {
  if (pid_ <= 0) return -1;
  ::kill(pid_, SIGTERM);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

}  // namespace takt::test
