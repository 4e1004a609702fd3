#include "dist/mpi_world.h"

#include <limits>
#include <numeric>

#include "common/error.h"

namespace nnfleet::dist {

void check_mpi(int code, const char* what) {
  if (code == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  MPI_Error_string(code, text, &length);
  throw Error(std::string("MPI call ") + what + " failed: " + std::string(text, length));
}

Comm::~Comm() { release(); }

Comm::Comm(Comm&& other) noexcept
    : comm_(other.comm_), owned_(other.owned_), options_(std::move(other.options_)) {
  other.comm_ = MPI_COMM_NULL;
  other.owned_ = false;
}

Comm& Comm::operator=(Comm&& other) noexcept {
  if (this != &other) {
    release();
    comm_ = other.comm_;
    owned_ = other.owned_;
    options_ = std::move(other.options_);
    other.comm_ = MPI_COMM_NULL;
    other.owned_ = false;
  }
  return *this;
}

void Comm::release() noexcept {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (owned_ && comm_ != MPI_COMM_NULL && !finalized) MPI_Comm_free(&comm_);
  comm_ = MPI_COMM_NULL;
  owned_ = false;
}

int Comm::rank() const {
  int r = 0;
  check_mpi(MPI_Comm_rank(comm_, &r), "MPI_Comm_rank");
  return r;
}

int Comm::size() const {
  int s = 1;
  check_mpi(MPI_Comm_size(comm_, &s), "MPI_Comm_size");
  return s;
}

namespace {

int checked_count(long long count, const std::string& operation) {
  if (count < 0 || count > std::numeric_limits<int>::max())
    throw Error(operation + ": " + std::to_string(count) +
                " elements do not fit one MPI call; use smaller buckets");
  return static_cast<int>(count);
}

}  // namespace

// Starts `call` (an MPI_I* call writing the request) and wraps the request; errors name the
// operation, the job and the rank.
template <typename Start>
static MpiRequest start_request(const Comm& comm, const std::string& operation, Start&& start) {
  MPI_Request request = MPI_REQUEST_NULL;
  const int code = start(&request);
  if (code != MPI_SUCCESS) {
    try {
      check_mpi(code, operation.c_str());
    } catch (const Error& e) {
      throw Error(describe_rank(comm.collective_options(), comm.get()) + ": " + e.what());
    }
  }
  return MpiRequest(request, comm.get(), operation, comm.collective_options());
}

MpiRequest Comm::iallreduce_sum(void* data, long long count, MPI_Datatype type,
                                const std::string& operation) const {
  const int n = checked_count(count, operation);
  return start_request(*this, operation, [&](MPI_Request* r) {
    return MPI_Iallreduce(MPI_IN_PLACE, data, n, type, MPI_SUM, comm_, r);
  });
}

MpiRequest Comm::ibroadcast(void* data, long long count, MPI_Datatype type, int root,
                            const std::string& operation) const {
  const int n = checked_count(count, operation);
  return start_request(*this, operation,
                       [&](MPI_Request* r) { return MPI_Ibcast(data, n, type, root, comm_, r); });
}

void Comm::barrier() const {
  start_request(*this, "MPI_Ibarrier", [&](MPI_Request* r) { return MPI_Ibarrier(comm_, r); })
      .wait();
}

void Comm::allreduce_sum(std::vector<double>& values) const {
  iallreduce_sum(values.data(), static_cast<long long>(values.size()), MPI_DOUBLE,
                 "MPI_Iallreduce(double)")
      .wait();
}

void Comm::allreduce_sum(std::vector<long long>& values) const {
  iallreduce_sum(values.data(), static_cast<long long>(values.size()), MPI_LONG_LONG,
                 "MPI_Iallreduce(long long)")
      .wait();
}

double Comm::allreduce_max(double value) const {
  double out = value;
  start_request(*this, "MPI_Iallreduce(max)", [&](MPI_Request* r) {
    return MPI_Iallreduce(&value, &out, 1, MPI_DOUBLE, MPI_MAX, comm_, r);
  }).wait();
  return out;
}

void Comm::broadcast(std::string& text, int root) const {
  long long length = static_cast<long long>(text.size());
  ibroadcast(&length, 1, MPI_LONG_LONG, root, "MPI_Ibcast(length)").wait();
  text.resize(static_cast<std::size_t>(length));
  if (length > 0) ibroadcast(text.data(), length, MPI_CHAR, root, "MPI_Ibcast(text)").wait();
}

namespace {

// Variable-length gather shared by gather() and allgather().
std::vector<std::string> gather_strings(const Comm& comm, const std::string& mine, int root,
                                        bool all) {
  const MPI_Comm c = comm.get();
  const int size = comm.size();
  const int rank = comm.rank();
  int my_length = static_cast<int>(mine.size());
  std::vector<int> lengths(size);
  start_request(comm, all ? "MPI_Iallgather(length)" : "MPI_Igather(length)",
                [&](MPI_Request* r) {
                  return all ? MPI_Iallgather(&my_length, 1, MPI_INT, lengths.data(), 1, MPI_INT,
                                              c, r)
                             : MPI_Igather(&my_length, 1, MPI_INT, lengths.data(), 1, MPI_INT,
                                           root, c, r);
                })
      .wait();
  std::vector<int> offsets(size, 0);
  for (int i = 1; i < size; ++i) offsets[i] = offsets[i - 1] + lengths[i - 1];
  const int total = size ? offsets[size - 1] + lengths[size - 1] : 0;
  std::string buffer(static_cast<std::size_t>(total), '\0');
  start_request(comm, all ? "MPI_Iallgatherv" : "MPI_Igatherv", [&](MPI_Request* r) {
    return all ? MPI_Iallgatherv(mine.data(), my_length, MPI_CHAR, buffer.data(), lengths.data(),
                                 offsets.data(), MPI_CHAR, c, r)
               : MPI_Igatherv(mine.data(), my_length, MPI_CHAR, buffer.data(), lengths.data(),
                              offsets.data(), MPI_CHAR, root, c, r);
  }).wait();
  std::vector<std::string> out;
  if (!all && rank != root) return out;
  for (int i = 0; i < size; ++i) out.push_back(buffer.substr(offsets[i], lengths[i]));
  return out;
}

}  // namespace

std::vector<std::string> Comm::gather(const std::string& mine, int root) const {
  return gather_strings(*this, mine, root, false);
}

std::vector<std::string> Comm::allgather(const std::string& mine) const {
  return gather_strings(*this, mine, 0, true);
}

Comm Comm::split_shared() const {
  MPI_Comm out = MPI_COMM_NULL;
  check_mpi(MPI_Comm_split_type(comm_, MPI_COMM_TYPE_SHARED, rank(), MPI_INFO_NULL, &out),
            "MPI_Comm_split_type(shared)");
  return Comm::own(out);
}

Comm Comm::split(int color, int key) const {
  MPI_Comm out = MPI_COMM_NULL;
  check_mpi(MPI_Comm_split(comm_, color < 0 ? MPI_UNDEFINED : color, key, &out), "MPI_Comm_split");
  Comm child = Comm::own(out);
  child.set_collective_options(options_);
  return child;
}

Comm Comm::create_group(const std::vector<int>& ranks, int tag) const {
  MPI_Group parent = MPI_GROUP_NULL, sub = MPI_GROUP_NULL;
  check_mpi(MPI_Comm_group(comm_, &parent), "MPI_Comm_group");
  check_mpi(MPI_Group_incl(parent, static_cast<int>(ranks.size()), ranks.data(), &sub),
            "MPI_Group_incl");
  MPI_Comm out = MPI_COMM_NULL;
  const int code = MPI_Comm_create_group(comm_, sub, tag, &out);
  MPI_Group_free(&sub);
  MPI_Group_free(&parent);
  check_mpi(code, "MPI_Comm_create_group");
  Comm child = Comm::own(out);
  child.set_collective_options(options_);
  return child;
}

MpiSession::MpiSession(int* argc, char*** argv) {
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (!initialized) {
    int provided = 0;
    check_mpi(MPI_Init_thread(argc, argv, MPI_THREAD_MULTIPLE, &provided), "MPI_Init_thread");
    finalize_ = true;
  }
  // Errors come back as codes that check_mpi turns into nnfleet::Error instead of aborting.
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  world_ = Comm::borrow(MPI_COMM_WORLD);
  Comm local = world_.split_shared();
  local_rank_ = local.rank();
  local_size_ = local.size();
}

MpiSession::~MpiSession() {
  if (finalize_) MPI_Finalize();
}

void MpiSession::abort(int status) const {
  MPI_Abort(MPI_COMM_WORLD, status);
  std::abort();  // MPI_Abort does not return; this satisfies [[noreturn]].
}

}  // namespace nnfleet::dist
