#pragma once
// RAII owners for MPI: the session (MPI_Init_thread / MPI_Finalize) and communicators.
// No LibTorch here: preprocessing, evaluation and the launcher use these without tensors.
// A program started without mpirun is a world of one rank (MPI singleton init).

#include <mpi.h>

#include <string>
#include <vector>

#include "dist/collective_timeout.h"
#include "dist/mpi_request.h"

namespace nnfleet::dist {

// An owned (or borrowed, for MPI_COMM_WORLD) communicator. Copy is deleted; move transfers
// ownership. All calls are collective over the communicator unless said otherwise.
// Every collective here is non-blocking underneath and waits with the communicator's timeout
// (Note [collective timeouts]): a peer that hangs ends the run with a message naming the job set
// by set_collective_options(), this rank and the operation, instead of hanging it.
class Comm {
 public:
  Comm() = default;
  static Comm borrow(MPI_Comm c) { return Comm(c, false); }
  static Comm own(MPI_Comm c) { return Comm(c, true); }
  ~Comm();
  Comm(const Comm&) = delete;
  Comm& operator=(const Comm&) = delete;
  Comm(Comm&& other) noexcept;
  Comm& operator=(Comm&& other) noexcept;

  bool valid() const { return comm_ != MPI_COMM_NULL; }
  // Job name and timeout used by every collective on this communicator (also by
  // dist::allreduce_sum on tensors). Not collective; set the same value on every member.
  void set_collective_options(CollectiveOptions options) { options_ = std::move(options); }
  const CollectiveOptions& collective_options() const { return options_; }

  MPI_Comm get() const { return comm_; }
  int rank() const;
  int size() const;

  void barrier() const;
  // Non-blocking building blocks (the buffer rule of dist/mpi_request.h applies): element-wise
  // sum in place, and broadcast from `root`. `count` must fit in an int.
  MpiRequest iallreduce_sum(void* data, long long count, MPI_Datatype type,
                            const std::string& operation) const;
  MpiRequest ibroadcast(void* data, long long count, MPI_Datatype type, int root,
                        const std::string& operation) const;
  // Element-wise sum (in place) over all ranks.
  void allreduce_sum(std::vector<double>& values) const;
  void allreduce_sum(std::vector<long long>& values) const;
  double allreduce_max(double value) const;
  // Broadcasts `text` from `root` to every rank.
  void broadcast(std::string& text, int root = 0) const;
  // Gathers each rank's string at `root` (index = rank); other ranks get an empty vector.
  std::vector<std::string> gather(const std::string& mine, int root = 0) const;
  // Every rank gets every rank's string.
  std::vector<std::string> allgather(const std::string& mine) const;

  // Ranks sharing a node with this one (MPI_COMM_TYPE_SHARED split).
  Comm split_shared() const;
  // Collective over this communicator: ranks with the same color form one new communicator;
  // color < 0 gets an invalid Comm.
  Comm split(int color, int key) const;
  // Collective only over `ranks` (MPI_Comm_create_group): other ranks are not involved, so groups
  // can form while the rest of the world is busy. `ranks` are ranks of this communicator, sorted,
  // and must include the caller. `tag` must differ between groups created concurrently.
  // Blocking (MPI has no non-blocking form), so it has no timeout. The new communicator starts
  // with this one's collective options (split() too).
  Comm create_group(const std::vector<int>& ranks, int tag) const;

 private:
  Comm(MPI_Comm c, bool owned) : comm_(c), owned_(owned) {}
  void release() noexcept;
  MPI_Comm comm_ = MPI_COMM_NULL;
  bool owned_ = false;
  CollectiveOptions options_;
};

// Initialises MPI with MPI_THREAD_MULTIPLE if available (data-loader threads never call MPI, but
// the watchdog may), and finalises it on destruction.
class MpiSession {
 public:
  MpiSession(int* argc, char*** argv);
  ~MpiSession();
  MpiSession(const MpiSession&) = delete;
  MpiSession& operator=(const MpiSession&) = delete;

  const Comm& world() const { return world_; }
  // Rank on this node, from a shared-memory split of the world.
  int local_rank() const { return local_rank_; }
  int local_size() const { return local_size_; }
  // Ends every rank of the world with `status` (MPI_Abort); used when this rank fails so that
  // peers do not wait in a collective forever.
  [[noreturn]] void abort(int status) const;

 private:
  bool finalize_ = false;
  Comm world_;
  int local_rank_ = 0;
  int local_size_ = 1;
};

// Throws nnfleet::Error with the MPI error string when `code` is not MPI_SUCCESS.
void check_mpi(int code, const char* what);

}  // namespace nnfleet::dist
